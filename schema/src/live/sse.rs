//! The server-sent-events wire format (WHATWG HTML, "event stream interpretation"), decoded
//! from the body's chunks as they arrive. The format is a few lines of spec; the crates that
//! parse it bring a parser-combinator library along, which this does not need.

use std::time::Duration;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` type; `message` when the event names none.
    pub event: String,
    /// The `data:` lines joined by newlines.
    pub data: String,
}

/// The stream broke the format's bounds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    #[error("an event is over {0} bytes")]
    TooLarge(usize),
}

/// Decodes a stream's bytes into events, keeping what a reconnect needs: the last event id
/// and the retry delay the server asked for.
#[derive(Debug)]
pub struct SseDecoder {
    /// Bytes of the line being read.
    line: Vec<u8>,
    data: String,
    event: String,
    /// The last `id:` seen, sent back as `Last-Event-ID` when reconnecting.
    pub last_id: Option<String>,
    /// The last `retry:` the server sent.
    pub retry: Option<Duration>,
    /// A CR ended the last line: an LF right after it belongs to the same line end.
    after_cr: bool,
    /// Whether the stream's first bytes (and a byte-order mark among them) are behind.
    started: bool,
    max_event_bytes: usize,
}

impl SseDecoder {
    /// A decoder refusing events (and lines) over `max_event_bytes`.
    pub fn new(max_event_bytes: usize) -> SseDecoder {
        SseDecoder {
            line: Vec::new(),
            data: String::new(),
            event: String::new(),
            last_id: None,
            retry: None,
            after_cr: false,
            started: false,
            max_event_bytes,
        }
    }

    /// Starts over for a new connection: a half-read event of the old one is dropped; the
    /// last id and retry delay are kept.
    pub fn reset(&mut self) {
        self.line.clear();
        self.data.clear();
        self.event.clear();
        self.after_cr = false;
        self.started = false;
    }

    /// Feeds the next chunk of the body; complete events go to `out`.
    pub fn feed(&mut self, mut chunk: &[u8], out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        if !self.started {
            if chunk.is_empty() {
                return Ok(());
            }
            self.started = true;
            chunk = chunk.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(chunk);
        }
        for &byte in chunk {
            match byte {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\n' | b'\r' => {
                    self.after_cr = byte == b'\r';
                    let line = std::mem::take(&mut self.line);
                    self.line_done(&line, out);
                    self.line = line;
                    self.line.clear();
                }
                _ => {
                    self.after_cr = false;
                    if self.line.len() + self.data.len() >= self.max_event_bytes {
                        return Err(SseError::TooLarge(self.max_event_bytes));
                    }
                    self.line.push(byte);
                }
            }
        }
        Ok(())
    }

    fn line_done(&mut self, line: &[u8], out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            return; // a comment: keep-alives are sent this way
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_ref(), ""),
        };
        match field {
            "event" => value.clone_into(&mut self.event),
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
            }
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                if let Ok(ms) = value.parse() {
                    self.retry = Some(Duration::from_millis(ms));
                }
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        let event = std::mem::take(&mut self.event);
        if self.data.is_empty() {
            return;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop(); // the newline after the last data line
        out.push(SseEvent {
            event: if event.is_empty() {
                "message".to_owned()
            } else {
                event
            },
            data,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(chunks: &[&[u8]]) -> (Vec<SseEvent>, SseDecoder) {
        let mut decoder = SseDecoder::new(1024);
        let mut out = Vec::new();
        for chunk in chunks {
            decoder.feed(chunk, &mut out).expect("within bounds");
        }
        (out, decoder)
    }

    fn event(event: &str, data: &str) -> SseEvent {
        SseEvent {
            event: event.to_owned(),
            data: data.to_owned(),
        }
    }

    #[test]
    fn events_with_types_ids_and_multiline_data() {
        let (events, decoder) = decode(&[
            b"\xEF\xBB\xBF: keep-alive\n\nevent: notification\nid: 7\ndata: {\"a\":\ndata:1}\n\n",
            b"data: plain\n\n",
        ]);
        assert_eq!(
            events,
            vec![
                event("notification", "{\"a\":\n1}"),
                event("message", "plain")
            ]
        );
        assert_eq!(decoder.last_id.as_deref(), Some("7"));
    }

    #[test]
    fn line_ends_split_across_chunks() {
        // CRLF split between chunks is one line end; a lone CR is one too.
        let (events, _) = decode(&[b"data: a\r", b"\n\r", b"\ndata: b\r\r", b"data:c\n", b"\n"]);
        assert_eq!(
            events,
            vec![
                event("message", "a"),
                event("message", "b"),
                event("message", "c")
            ]
        );
    }

    #[test]
    fn a_field_split_across_chunks_and_retry() {
        let (events, decoder) =
            decode(&[b"ev", b"ent: x\nretry: 1500\nretry: 1s\nda", b"ta: 1\n\n"]);
        assert_eq!(events, vec![event("x", "1")]);
        assert_eq!(decoder.retry, Some(Duration::from_millis(1500)));
    }

    #[test]
    fn an_event_without_data_is_not_dispatched_and_its_type_does_not_leak() {
        let (events, _) = decode(&[b"event: x\n\ndata: 2\n\n"]);
        assert_eq!(events, vec![event("message", "2")]);
    }

    #[test]
    fn an_unterminated_event_is_not_dispatched() {
        let (events, _) = decode(&[b"data: 1\n"]);
        assert!(events.is_empty());
    }

    #[test]
    fn an_oversized_event_is_refused() {
        let mut decoder = SseDecoder::new(16);
        let mut out = Vec::new();
        let error = decoder.feed(b"data: 0123456789abcdefgh\n\n", &mut out);
        assert_eq!(error, Err(SseError::TooLarge(16)));
    }
}
