//! Decoding ahead of the sink: the member's thread copies each polled message into a
//! chunk, and a second thread decodes and checks the orders of one chunk while the
//! member polls the next and writes the one before. Reading JSON was half of a
//! member's time on one core; this puts it on the second.
//!
//! Chunks come back in the order they went, so a sink still takes records in the order
//! they were polled. Everything polled is taken before a rebalance hands partitions on
//! (the driver collects every chunk inside its rebalance callback).

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rdkafka::message::{BorrowedMessage, Message};

use super::gaps::Gap;
use crate::format::{Decoder, Format, Undecodable};
use crate::order::{check_event_time, Catalogue, Order};

/// Messages per chunk: the hand-over costs little per message, and a chunk is decoded
/// in well under a millisecond.
const CHUNK: usize = 256;
/// Chunks at the decoder at once (queued or being decoded).
const DEPTH: usize = 4;

/// The decoder thread is gone with polled messages in its hands (it panicked): they
/// cannot be taken, so the member stops before them and nothing from there on is
/// committed.
#[derive(Debug, thiserror::Error)]
#[error(
    "the decoding thread stopped with {0} chunk(s) of polled messages; nothing from there on is committed"
)]
pub(super) struct DecoderLost(usize);

/// A message the decoding thread did not reach (it stopped at an earlier one that the
/// schema registry could not help to read): it must not be taken as anything.
#[derive(Debug, thiserror::Error)]
#[error("partition {partition} offset {offset} was not decoded (decoding stopped at an earlier message); nothing from there on is committed")]
pub(super) struct NotDecoded {
    partition: i32,
    offset: i64,
}

/// One polled message; its bytes are in its chunk.
#[derive(Debug)]
struct Item {
    partition: i32,
    offset: i64,
    key: Option<Range<usize>>,
    payload: Option<Range<usize>>,
    /// Records gone before this one, found when it was polled.
    gap: Option<Gap>,
}

/// Messages polled in a row, then what the decoder made of them.
#[derive(Debug, Default)]
pub(super) struct Chunk {
    /// Keys and payloads, back to back.
    bytes: Vec<u8>,
    items: Vec<Item>,
    /// One per item once decoded; `None` for a message without a payload.
    decoded: Vec<Option<Result<Order, Undecodable>>>,
    /// The first item not yet taken.
    next: usize,
}

/// A message of a decoded chunk, as the sink takes it.
#[derive(Debug)]
pub(super) struct Polled<'a> {
    /// The partition.
    pub(super) partition: i32,
    /// The offset.
    pub(super) offset: i64,
    /// Records gone just before this one.
    pub(super) gap: Option<Gap>,
    /// The message's key.
    pub(super) key: Option<&'a [u8]>,
    /// The message's payload.
    pub(super) payload: Option<&'a [u8]>,
    /// The order, or why the payload is not one; `None` without a payload.
    pub(super) decoded: Option<Result<Order, Undecodable>>,
}

impl Chunk {
    fn push(&mut self, at: (i32, i64), key: Option<&[u8]>, payload: Option<&[u8]>, gap: Option<Gap>) {
        let mut copy = |bytes: Option<&[u8]>| {
            bytes.map(|b| {
                let start = self.bytes.len();
                self.bytes.extend_from_slice(b);
                start..self.bytes.len()
            })
        };
        let (key, payload) = (copy(key), copy(payload));
        self.items.push(Item { partition: at.0, offset: at.1, key, payload, gap });
    }

    /// Decodes every payload and checks it against the clock, read once for the chunk.
    /// Stops after a payload the registry could not help to read: the member stops
    /// there, and asking again for each message after it would only keep it waiting.
    fn decode(&mut self, decoder: &mut Decoder, catalogue: &Catalogue, max_future: Duration) {
        let now = crate::clock::now_micros();
        self.decoded.clear();
        for item in &self.items {
            let decoded = item.payload.clone().map(|range| {
                decoder.decode(&self.bytes[range], catalogue).and_then(|order| {
                    check_event_time(&order, now, max_future).map(|()| order).map_err(Undecodable::from)
                })
            });
            let unreadable = matches!(decoded, Some(Err(Undecodable::Registry(_))));
            self.decoded.push(decoded);
            if unreadable {
                break;
            }
        }
    }

    /// The next message not yet taken, with what it decoded to, in polling order; an
    /// error for a message the decoder did not reach (the chunk then stays unfinished).
    pub(super) fn next(&mut self) -> Option<Result<Polled<'_>, NotDecoded>> {
        let i = self.next;
        let item = self.items.get_mut(i)?;
        let Some(decoded) = self.decoded.get_mut(i) else {
            return Some(Err(NotDecoded { partition: item.partition, offset: item.offset }));
        };
        self.next += 1;
        Some(Ok(Polled {
            partition: item.partition,
            offset: item.offset,
            gap: item.gap.take(),
            key: item.key.clone().map(|r| &self.bytes[r]),
            payload: item.payload.clone().map(|r| &self.bytes[r]),
            decoded: decoded.take(),
        }))
    }

    /// True once every message was taken.
    pub(super) fn finished(&self) -> bool {
        self.next >= self.items.len()
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.items.clear();
        self.decoded.clear();
        self.next = 0;
    }
}

/// How much [`Ahead::collect`] brings back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Collect {
    /// Chunks already decoded; a full chunk goes to the decoder first (waiting only while
    /// [`DEPTH`] are out).
    Decoded,
    /// Every message polled so far, waiting for the decoder.
    Everything,
}

/// The member's side of the decoding thread.
#[derive(Debug)]
pub(super) struct Ahead {
    /// A chunk taken in part (the sink's batch was full), to go on with first.
    current: Option<Chunk>,
    filling: Chunk,
    /// Chunks sent to the decoder and not yet collected.
    out: usize,
    spare: Vec<Chunk>,
    jobs: Option<SyncSender<Chunk>>,
    done: Receiver<Chunk>,
    worker: Option<JoinHandle<()>>,
    /// Set when the member stops: chunks still queued are dropped undecoded.
    cancelled: Arc<AtomicBool>,
}

impl Ahead {
    /// Starts the decoding thread for messages of `format`, checked against `catalogue`
    /// and a clock at most `max_future` behind them.
    pub(super) fn start(
        format: &Format,
        catalogue: Catalogue,
        max_future: Duration,
    ) -> std::io::Result<Self> {
        let (jobs, inbox) = mpsc::sync_channel::<Chunk>(DEPTH);
        let (outbox, done) = mpsc::channel();
        let mut decoder = Decoder::new(format);
        let cancelled = Arc::new(AtomicBool::new(false));
        let cancel = cancelled.clone();
        let worker = std::thread::Builder::new().name("decoder".into()).spawn(move || {
            // After a message the registry could not help to read, the member stops there:
            // later chunks go back undecoded rather than asking the registry again.
            let mut stopped_at_registry = false;
            for mut chunk in inbox {
                if cancel.load(Ordering::Relaxed) {
                    continue;
                }
                if !stopped_at_registry {
                    chunk.decode(&mut decoder, &catalogue, max_future);
                    stopped_at_registry =
                        matches!(chunk.decoded.last(), Some(Some(Err(Undecodable::Registry(_)))));
                }
                if outbox.send(chunk).is_err() {
                    break;
                }
            }
        })?;
        Ok(Ahead {
            current: None,
            filling: Chunk::default(),
            out: 0,
            spare: Vec::new(),
            jobs: Some(jobs),
            done,
            worker: Some(worker),
            cancelled,
        })
    }

    /// Copies a polled message in, with the gap found just before it.
    pub(super) fn push(&mut self, message: &BorrowedMessage<'_>, gap: Option<Gap>) {
        self.filling.push((message.partition(), message.offset()), message.key(), message.payload(), gap);
    }

    /// True while polled messages wait to be collected.
    pub(super) fn holds(&self) -> bool {
        !self.filling.items.is_empty() || self.out > 0 || self.current.is_some()
    }

    /// The next decoded chunk, in polling order (see [`Collect`]); `None`: nothing more
    /// now. Give the chunk back with [`Ahead::give_back`].
    pub(super) fn collect(&mut self, how: Collect) -> Result<Option<Chunk>, DecoderLost> {
        if let Some(chunk) = self.current.take() {
            return Ok(Some(chunk));
        }
        let everything = how == Collect::Everything;
        let send = self.filling.items.len() >= CHUNK || everything;
        if send && !self.filling.items.is_empty() {
            if self.out >= DEPTH {
                return self.receive(true);
            }
            let next = self.spare.pop().unwrap_or_default();
            let chunk = std::mem::replace(&mut self.filling, next);
            let sent = self.jobs.as_ref().is_some_and(|jobs| jobs.send(chunk).is_ok());
            if !sent {
                return Err(DecoderLost(self.out + 1));
            }
            self.out += 1;
        }
        self.receive(everything)
    }

    fn receive(&mut self, wait: bool) -> Result<Option<Chunk>, DecoderLost> {
        if self.out == 0 {
            return Ok(None);
        }
        let chunk = if wait {
            self.done.recv().map_err(|_| DecoderLost(self.out))?
        } else {
            match self.done.try_recv() {
                Ok(chunk) => chunk,
                Err(TryRecvError::Empty) => return Ok(None),
                Err(TryRecvError::Disconnected) => return Err(DecoderLost(self.out)),
            }
        };
        self.out -= 1;
        Ok(Some(chunk))
    }

    /// Takes back a collected chunk: for reuse once every message was taken, else to go
    /// on with at the next [`Ahead::collect`].
    pub(super) fn give_back(&mut self, mut chunk: Chunk) {
        if chunk.finished() {
            chunk.clear();
            self.spare.push(chunk);
        } else {
            self.current = Some(chunk);
        }
    }

    /// Drops whatever is still polled and uncollected (the member stopped on an error:
    /// those messages are not committed, so the next owner reads them) and ends the
    /// thread.
    pub(super) fn stop(&mut self) {
        self.cancelled.store(true, Ordering::Relaxed);
        self.current = None;
        self.filling.clear();
        self.jobs = None;
        while self.done.recv().is_ok() {}
        self.out = 0;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

impl Drop for Ahead {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{builtin_catalogue, Generator, GeneratorConfig};
    use crate::order::{decode_json, write_json};

    /// Pushes `payloads` as offsets 0.. of partition 3 and collects them the way the
    /// member does: finished chunks after each push, everything at the end.
    fn round_trip(ahead: &mut Ahead, payloads: &[Option<Vec<u8>>]) -> Vec<(i64, Option<Vec<u8>>, String)> {
        let mut seen = Vec::new();
        let mut take = |chunk: &mut Chunk| {
            while let Some(p) = chunk.next() {
                let p = p.expect("every message decoded");
                let what = match p.decoded {
                    None => "none".to_string(),
                    Some(Ok(order)) => format!("order {}", order.id),
                    Some(Err(e)) => format!("invalid: {e}"),
                };
                seen.push((p.offset, p.payload.map(<[u8]>::to_vec), what));
            }
        };
        for (offset, payload) in payloads.iter().enumerate() {
            ahead.filling.push((3, offset as i64), Some(b"key"), payload.as_deref(), None);
            while let Some(mut chunk) = ahead.collect(Collect::Decoded).unwrap() {
                take(&mut chunk);
                ahead.give_back(chunk);
            }
        }
        while let Some(mut chunk) = ahead.collect(Collect::Everything).unwrap() {
            take(&mut chunk);
            ahead.give_back(chunk);
        }
        assert!(!ahead.holds());
        seen
    }

    #[test]
    fn chunks_come_back_in_polling_order_decoded_as_one_thread_would() {
        let catalogue = builtin_catalogue();
        let mut generator = Generator::new(&GeneratorConfig { seed: Some(5), ..Default::default() });
        // Several chunks' worth, with invalid messages and empty payloads among the orders.
        let payloads: Vec<Option<Vec<u8>>> = (0..CHUNK * DEPTH * 3 + 17)
            .map(|i| match i % 97 {
                13 => None,
                41 => Some(b"{\"id\": \"not an order\"}".to_vec()),
                _ => {
                    let mut json = Vec::new();
                    write_json(&generator.next_order(), &mut json);
                    Some(json)
                }
            })
            .collect();
        let mut ahead = Ahead::start(&Format::Json, catalogue, Duration::from_secs(3600)).unwrap();
        let seen = round_trip(&mut ahead, &payloads);
        assert_eq!(seen.len(), payloads.len());
        for (i, (offset, payload, what)) in seen.iter().enumerate() {
            assert_eq!(*offset, i as i64);
            assert_eq!(payload, &payloads[i]);
            let expected = match &payloads[i] {
                None => "none".to_string(),
                Some(p) => match decode_json(p, &catalogue) {
                    Ok(order) => format!("order {}", order.id),
                    Err(e) => format!("invalid: {e}"),
                },
            };
            assert_eq!(what, &expected, "offset {i}");
        }
        // The same thread and chunks serve a second round.
        assert_eq!(round_trip(&mut ahead, &payloads[..10]).len(), 10);
    }

    #[test]
    fn a_message_the_decoder_did_not_reach_is_an_error_and_stays_untaken() {
        let mut chunk = Chunk::default();
        for offset in 0..3 {
            chunk.push((1, offset), None, Some(b"{}"), None);
        }
        // Decoding stopped after the first message (as after a registry failure).
        chunk.decoded.push(None);
        assert_eq!(chunk.next().unwrap().unwrap().offset, 0);
        let err = chunk.next().unwrap().unwrap_err();
        assert!(err.to_string().contains("partition 1 offset 1 was not decoded"), "{err}");
        assert!(!chunk.finished(), "the message it stopped at is not passed over");
        assert!(chunk.next().unwrap().is_err(), "asking again gives the same answer");
    }

    #[test]
    fn a_stopped_decoder_is_an_error_not_a_silent_loss() {
        let mut ahead = Ahead::start(&Format::Json, builtin_catalogue(), Duration::from_secs(3600)).unwrap();
        ahead.stop();
        ahead.filling.push((0, 0), None, Some(b"{}"), None);
        let err = ahead.collect(Collect::Everything).unwrap_err();
        assert!(err.to_string().contains("nothing from there on is committed"), "{err}");
    }
}
