//! JSON against Avro per order: the producer's encoding and the consumer's decoding
//! (with every contract check), and the size of a message in each. Run with
//! `cargo bench --bench formats`.
// criterion_group! defines an undocumented public function.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use orderstream::format::{
    AvroFormat, Decoder, Encoder, Format, OrderSchema, Registry, RegistryConfig, SubjectStrategy,
};
use orderstream::generate::{Generator, GeneratorConfig};

fn formats(c: &mut Criterion) {
    // Nothing is asked of this registry: the schema the messages name is preloaded.
    let registry = Registry::new(RegistryConfig {
        url: "http://127.0.0.1:9".into(),
        user: None,
        password: None,
        retry_for: Duration::ZERO,
        request_timeout: Duration::from_secs(1),
        abort: orderstream::shutdown::Shutdown::new(),
    });
    registry.preload(1, OrderSchema::V2.text()).expect("the order schema compiles");
    let avro = Format::Avro(Arc::new(AvroFormat {
        registry,
        subject_strategy: SubjectStrategy::Topic,
        schema: OrderSchema::V2,
    }));
    let encoders = [
        ("json", Format::Json, Encoder::Json),
        ("avro", avro, Encoder::Avro { schema_id: 1, schema: OrderSchema::V2 }),
    ];
    let mut generator =
        Generator::new(&GeneratorConfig { seed: Some(7), instance: Some(1), ..Default::default() });
    let catalogue = generator.model().catalogue();
    let orders: Vec<_> = (0..1024).map(|_| generator.next_order()).collect();

    let mut group = c.benchmark_group("format");
    group.throughput(Throughput::Elements(1));
    for (name, format, encoder) in &encoders {
        let payloads: Vec<Vec<u8>> = orders
            .iter()
            .map(|order| {
                let mut out = Vec::new();
                encoder.encode(order, &mut out);
                out
            })
            .collect();
        let bytes: usize = payloads.iter().map(Vec::len).sum();
        println!("{name}: {:.1} bytes per order (1,024 orders)", bytes as f64 / payloads.len() as f64);
        let mut buf = Vec::with_capacity(512);
        let mut i = 0;
        group.bench_function(format!("{name}/encode"), |b| {
            b.iter(|| {
                i = (i + 1) % orders.len();
                buf.clear();
                encoder.encode(std::hint::black_box(&orders[i]), &mut buf);
                std::hint::black_box(&buf);
            });
        });
        let mut decoder = Decoder::new(format);
        group.bench_function(format!("{name}/decode+validate"), |b| {
            b.iter(|| {
                i = (i + 1) % payloads.len();
                decoder.decode(std::hint::black_box(&payloads[i]), &catalogue).expect("valid")
            });
        });
    }
    // For scale: apache-avro's generic reader of the same body, into its `Value` tree
    // (the crate's route to an order, before any field is checked).
    let schema = apache_avro::Schema::parse_str(OrderSchema::V2.text()).expect("parses");
    let reader = apache_avro::reader::datum::GenericDatumReader::builder(&schema).build().expect("reader");
    let mut body = Vec::new();
    encoders[1].2.encode(&orders[0], &mut body);
    group.bench_function("avro/apache-avro-value-read", |b| {
        b.iter(|| reader.read_value(&mut std::hint::black_box(&body[5..])).expect("reads"));
    });
    group.finish();
}

criterion_group!(benches, formats);
criterion_main!(benches);
