//! The topic's id: the one thing that tells a topic from a new one of the same name.
//!
//! A sink that resumes from its own offsets after the topic was deleted and created
//! again would skip the new topic's first records whenever the new partition has
//! already grown past the old offset; the offsets are only comparable while the id
//! stays the same. Kafka gives every topic an id (KIP-516, brokers from 2.8), which
//! librdkafka reports through its DescribeTopics admin call; the Rust binding does
//! not wrap that call yet, hence this small use of the C API.

use std::ffi::{c_char, CStr, CString};
use std::time::Duration;

use rdkafka::bindings as rd;
use rdkafka::client::{Client, ClientContext};

/// The id of a topic that has none: brokers before 2.8 and test clusters that do not
/// track ids answer with it.
const NO_ID: &str = "AAAAAAAAAAAAAAAAAAAAAA";

/// Asks the cluster for `topic`'s id (base64, as Kafka's tools print it). `Ok(None)`:
/// the cluster tracks no ids; `Err`: the topic is missing or the call failed.
pub(super) fn topic_id<C: ClientContext>(
    client: &Client<C>,
    topic: &str,
    timeout: Duration,
) -> Result<Option<String>, String> {
    let name = CString::new(topic).map_err(|_| format!("topic name {topic:?} holds a NUL byte"))?;
    let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    let rk = client.native_ptr();
    // SAFETY: every object made here is destroyed before returning, the result's
    // strings are copied out while the event that owns them is alive, and `rk` outlives
    // the call (it belongs to `client`, borrowed for its whole length).
    unsafe {
        let mut names = [name.as_ptr()];
        let topics = rd::rd_kafka_TopicCollection_of_topic_names(names.as_mut_ptr(), 1);
        let options =
            rd::rd_kafka_AdminOptions_new(rk, rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBETOPICS);
        let mut errstr = [0 as c_char; 256];
        rd::rd_kafka_AdminOptions_set_request_timeout(options, timeout_ms, errstr.as_mut_ptr(), errstr.len());
        let queue = rd::rd_kafka_queue_new(rk);
        rd::rd_kafka_DescribeTopics(rk, topics, options, queue);
        // The admin call times out on its own a little after the request timeout.
        let event = rd::rd_kafka_queue_poll(queue, timeout_ms.saturating_add(5_000));
        let answer = read_answer(event);
        if !event.is_null() {
            rd::rd_kafka_event_destroy(event);
        }
        rd::rd_kafka_queue_destroy(queue);
        rd::rd_kafka_AdminOptions_destroy(options);
        rd::rd_kafka_TopicCollection_destroy(topics);
        answer
    }
}

/// Reads the id out of a DescribeTopics result event.
///
/// # Safety
/// `event` is null or a live event from `rd_kafka_DescribeTopics`.
unsafe fn read_answer(event: *mut rd::rd_kafka_event_t) -> Result<Option<String>, String> {
    if event.is_null() {
        return Err("no answer to DescribeTopics in time".into());
    }
    let code = rd::rd_kafka_event_error(event);
    if code != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        return Err(text(rd::rd_kafka_event_error_string(event)));
    }
    let result = rd::rd_kafka_event_DescribeTopics_result(event);
    if result.is_null() {
        return Err("the answer to DescribeTopics was of another kind".into());
    }
    let mut count = 0;
    let descriptions = rd::rd_kafka_DescribeTopics_result_topics(result, &mut count);
    if descriptions.is_null() || count == 0 {
        return Err("DescribeTopics described no topic".into());
    }
    let description = *descriptions;
    let error = rd::rd_kafka_TopicDescription_error(description);
    if !error.is_null()
        && rd::rd_kafka_error_code(error) != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
    {
        return Err(text(rd::rd_kafka_error_string(error)));
    }
    let uuid = rd::rd_kafka_TopicDescription_topic_id(description);
    if uuid.is_null() {
        return Ok(None);
    }
    let id = text(rd::rd_kafka_Uuid_base64str(uuid));
    Ok((!id.is_empty() && id != NO_ID).then_some(id))
}

/// Copies a C string owned by librdkafka.
///
/// # Safety
/// `ptr` is null or a NUL-terminated string alive for the call.
unsafe fn text(ptr: *const c_char) -> String {
    if ptr.is_null() {
        String::new()
    } else {
        CStr::from_ptr(ptr).to_string_lossy().into_owned()
    }
}
