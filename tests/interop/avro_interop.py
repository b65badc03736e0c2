"""Confluent's Python client on the other end of orderstream's Avro messages.

    avro_interop.py read  BROKERS REGISTRY TOPIC COUNT OUT.jsonl
        reads COUNT messages with AvroDeserializer (writer schemas fetched from the
        registry by id) and writes each record as a JSON line, money as decimal text
        and the timestamp as microseconds.
    avro_interop.py write BROKERS REGISTRY TOPIC ORDERS.jsonl SCHEMA.avsc [SCHEMA.avsc ...]
        writes the JSON orders (as `orderstream generate` prints them) with
        AvroSerializer, message i with schema i % len(schemas), each registered under
        the topic's value subject, keyed by store.

Exits non-zero with the reason on any error; prints one summary line.
"""

import datetime
import decimal
import json
import sys
import uuid

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext


def read(brokers, registry, topic, count, out):
    client = SchemaRegistryClient({"url": registry})
    deserializer = AvroDeserializer(client)
    consumer = Consumer({
        "bootstrap.servers": brokers,
        "group.id": "python-interop-" + uuid.uuid4().hex,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe([topic])
    seen = 0
    idle = 0
    with open(out, "w") as lines:
        while seen < count and idle < 60:
            message = consumer.poll(1.0)
            if message is None:
                idle += 1
                continue
            if message.error():
                raise SystemExit(f"consumer error: {message.error()}")
            idle = 0
            record = deserializer(message.value(), SerializationContext(topic, MessageField.VALUE))
            lines.write(json.dumps(plain(record)) + "\n")
            seen += 1
    consumer.close()
    if seen != count:
        raise SystemExit(f"read {seen} of {count} messages from {topic}")
    print(f"python read {seen} Avro messages from {topic}")


def plain(record):
    """The record with decimals as text and times as microseconds, for JSON."""
    out = {}
    for key, value in record.items():
        if isinstance(value, decimal.Decimal):
            out[key] = f"{value:.2f}"
        elif isinstance(value, datetime.datetime):
            delta = value - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
            out[key] = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        elif isinstance(value, uuid.UUID):
            out[key] = str(value)
        else:
            out[key] = value
    return out


def avro_record(order, version):
    """A JSON order from `orderstream generate` as a record of the given schema."""
    moment = datetime.datetime.fromisoformat(order["timestamp"])
    record = {
        "id": order["id"],
        "timestamp": moment,
        "utc_offset_seconds": int(moment.utcoffset().total_seconds()),
        "customer_id": uuid.UUID(order["customer_id"]),
        "ilosc": order["ilosc"],
        "cena_netto": decimal.Decimal(str(order["cena_netto"])).quantize(decimal.Decimal("0.01")),
        "wartosc_brutto": decimal.Decimal(str(order["wartosc_brutto"])).quantize(decimal.Decimal("0.01")),
        "sprzedawca": order.get("sprzedawca"),
    }
    for text in ("store_id", "region", "sales_channel", "device_type", "payment_method",
                 "nazwa_produktu", "marka", "kategoria_produktu"):
        record[text] = order[text]
    if version >= 2:
        record["discount"] = decimal.Decimal("0.00")
        record["currency"] = "PLN"
    return record


def write(brokers, registry, topic, orders_file, schema_files):
    client = SchemaRegistryClient({"url": registry})
    serializers = []
    for path in schema_files:
        text = open(path).read()
        version = 2 if "currency" in json.loads(text)["fields"][-1]["name"] else 1
        serializers.append((version, AvroSerializer(client, text, conf={"auto.register.schemas": True})))
    # The topic is made before the first message, with the broker's six partitions, so
    # that no message meets a topic being created automatically.
    admin = AdminClient({"bootstrap.servers": brokers})
    for future in admin.create_topics([NewTopic(topic, num_partitions=6, replication_factor=1)]).values():
        future.result(60)
    producer = Producer({"bootstrap.servers": brokers, "enable.idempotence": True, "acks": "all"})
    failures = []
    acknowledged = []

    def delivered(error, message):
        if error is not None:
            failures.append(str(error))
        else:
            acknowledged.append((message.partition(), message.offset()))

    sent = 0
    with open(orders_file) as lines:
        for i, line in enumerate(lines):
            order = json.loads(line)
            version, serializer = serializers[i % len(serializers)]
            value = serializer(avro_record(order, version), SerializationContext(topic, MessageField.VALUE))
            producer.produce(topic, key=order["store_id"].encode(), value=value, on_delivery=delivered)
            producer.poll(0)
            sent += 1
    left = producer.flush(60)
    if left or failures or len(acknowledged) != sent:
        raise SystemExit(f"{left} undelivered, {len(failures)} failed, {len(acknowledged)} of {sent} acknowledged: {failures[:3]}")
    # Where each acknowledged message went: the test names it if the topic holds fewer.
    last = {}
    for partition, offset in acknowledged:
        last[partition] = max(offset, last.get(partition, -1))
    print(f"python wrote {sent} Avro messages to {topic} with schemas {[v for v, _ in serializers]}; "
          f"acknowledged next offsets by partition: {dict(sorted((p, o + 1) for p, o in last.items()))}")


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "read":
        read(args[0], args[1], args[2], int(args[3]), args[4])
    elif command == "write":
        write(args[0], args[1], args[2], args[3], args[4:])
    else:
        raise SystemExit(f"unknown command {command}")
