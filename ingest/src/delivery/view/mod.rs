//! Borrowed reading of an envelope's protobuf body (the snappy-decompressed bytes of a
//! record): the header fields, and each sample or event as string slices into the body,
//! without building an owned `Envelope`/`Sample`/`Label` tree per record. [`Body::parse`]
//! checks the whole message as `prost` would decode it into `envelope::Envelope` (wire
//! types of known fields, lengths, UTF-8 of strings, histogram and exemplar messages),
//! so a record it accepts is one `Envelope::decode_record` accepts, with the same items;
//! the flush then walks the checked bytes again straight into the Arrow builders.
//!
//! Field numbers are those of `envelope::model` (the compatibility contract). The wire
//! primitives (varint, key, skipping unknown fields) are prost's own `encoding` functions.

use crate::envelope::{DecodeError, Envelope, Exemplar, Histogram, Kind};
use prost::Message;
use prost::encoding::{DecodeContext, WireType, decode_key, decode_varint, skip_field};

/// Why a body does not read as an `Envelope` (the texts prost gives for the same faults).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViewError {
    #[error(transparent)]
    Prost(#[from] prost::DecodeError),
    #[error("failed to decode Protobuf message: buffer underflow")]
    Underflow,
    #[error("failed to decode Protobuf message: invalid string value: data is not UTF-8 encoded")]
    Utf8,
    /// A sample's bytes read as an event or the other way round (a caller's mistake; the
    /// unchecked reads rely on each message being read as the type it was checked as).
    #[error("a {0} item read as another message type")]
    WrongItem(&'static str),
}

type Res<T> = Result<T, ViewError>;

fn pb(e: ViewError) -> DecodeError {
    DecodeError::Protobuf(e.to_string())
}

fn wire(expected: WireType, actual: WireType) -> Res<()> {
    Ok(prost::encoding::check_wire_type(expected, actual)?)
}

/// A varint: one byte read inline (lengths of labels and small fields), any other shape
/// (and every error) by prost's `decode_varint`.
#[inline(always)]
fn varint(buf: &mut &[u8]) -> Res<u64> {
    if let [b, rest @ ..] = *buf
        && *b < 0x80
    {
        *buf = rest;
        return Ok(u64::from(*b));
    }
    Ok(decode_varint(buf)?)
}

/// A field key: a one-byte key with a valid tag and wire type read inline (every key of
/// the envelope's messages), any other (and every error) by prost's `decode_key`.
#[inline(always)]
fn key(buf: &mut &[u8]) -> Res<(u32, WireType)> {
    if let [b, rest @ ..] = *buf
        && *b < 0x80
        && *b >= 8
        && let Ok(wt) = WireType::try_from(u64::from(*b & 7))
    {
        *buf = rest;
        return Ok((u32::from(*b >> 3), wt));
    }
    Ok(decode_key(buf)?)
}

/// The bytes of a length-delimited field.
fn bytes<'a>(buf: &mut &'a [u8]) -> Res<&'a [u8]> {
    let len = varint(buf)?;
    if len > buf.len() as u64 {
        return Err(ViewError::Underflow);
    }
    let (head, tail) = buf.split_at(len as usize);
    *buf = tail;
    Ok(head)
}

/// A string field; `CHECK` false only on the bytes of a [`Body`], checked at its parse.
fn string<'a, const CHECK: bool>(buf: &mut &'a [u8]) -> Res<&'a str> {
    str_of::<CHECK>(bytes(buf)?)
}

fn str_of<const CHECK: bool>(b: &[u8]) -> Res<&str> {
    if CHECK {
        std::str::from_utf8(b).map_err(|_| ViewError::Utf8)
    } else {
        // SAFETY: unchecked reads only walk a `Body`'s bytes (through `Item`, which only
        // a `Body` hands out, the `LabelBytes` split off one, or a sample's metric name,
        // a label value `Body::parse` found); `Body::parse` checked every string field of
        // them as UTF-8 (or they were encoded from Rust `String`s), and a body's bytes
        // never change. The walk is deterministic, so it meets exactly the fields the
        // check met. The one other caller, `label`, passes slices of a message it has
        // just found all ASCII, which is UTF-8.
        Ok(unsafe { std::str::from_utf8_unchecked(b) })
    }
}

fn double(buf: &mut &[u8]) -> Res<f64> {
    let Some((head, tail)) = buf.split_first_chunk::<8>() else {
        return Err(ViewError::Underflow);
    };
    *buf = tail;
    Ok(f64::from_le_bytes(*head))
}

/// Walks the fields of one message, calling `field` for each; unknown fields are
/// skipped (and checked) as prost skips them.
fn fields<'a>(
    mut buf: &'a [u8],
    mut field: impl FnMut(u32, WireType, &mut &'a [u8]) -> Res<bool>,
) -> Res<()> {
    while !buf.is_empty() {
        let (tag, wt) = key(&mut buf)?;
        if !field(tag, wt, &mut buf)? {
            skip_field(wt, tag, &mut buf, DecodeContext::default())?;
        }
    }
    Ok(())
}

/// One label's name and value (a repeated field keeps its last value, as prost does).
fn label<const CHECK: bool>(body: &[u8]) -> Res<(&str, &str)> {
    // The encoding every writer produces — field 1 then field 2, each shorter than 128
    // bytes, nothing else — read directly; any other shape takes the general walk. Both
    // give what prost decodes.
    if let [0x0a, n, rest @ ..] = body
        && *n < 0x80
        && let Some((name, [0x12, m, value @ ..])) = rest.split_at_checked(*n as usize)
        && *m < 0x80
        && value.len() == *m as usize
    {
        // ASCII bytes are UTF-8: one scan of the whole message checks both strings
        // (label names and values nearly always are ASCII).
        if CHECK && body.is_ascii() {
            return Ok((str_of::<false>(name)?, str_of::<false>(value)?));
        }
        return Ok((str_of::<CHECK>(name)?, str_of::<CHECK>(value)?));
    }
    let (mut name, mut value) = ("", "");
    fields(body, |tag, wt, buf| {
        match tag {
            1 => name = string_field::<CHECK>(wt, buf)?,
            2 => value = string_field::<CHECK>(wt, buf)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok((name, value))
}

fn string_field<'a, const CHECK: bool>(wt: WireType, buf: &mut &'a [u8]) -> Res<&'a str> {
    wire(WireType::LengthDelimited, wt)?;
    string::<CHECK>(buf)
}

/// The bytes of one item (sample or event message) of a [`Body`]; only a body hands
/// these out, which is what lets its second walk skip the UTF-8 check. A sample knows
/// the length of its leading run of label fields (found by the body's parse).
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    bytes: &'a [u8],
    label_run: u32,
    event: bool,
}

impl<'a> Item<'a> {
    fn sample(bytes: &'a [u8], label_run: u32) -> Self {
        Self {
            bytes,
            label_run,
            event: false,
        }
    }

    fn event(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            label_run: 0,
            event: true,
        }
    }
}

impl<'a> Item<'a> {
    /// Splits a sample message into its leading run of label fields (field 1) and the
    /// rest. A sample's labels are all in that run unless a writer interleaved them with
    /// other fields; the rest then still holds label fields.
    pub fn split_labels(self) -> (LabelBytes<'a>, Item<'a>) {
        let (labels, rest) = self.bytes.split_at(self.label_run as usize);
        (LabelBytes(labels), Item::sample(rest, 0))
    }
}

/// The label fields of a sample of a [`Body`] (only [`Item::split_labels`] makes one):
/// equal bytes are equal label lists.
#[derive(Debug, Clone, Copy)]
pub struct LabelBytes<'a>(&'a [u8]);

impl<'a> LabelBytes<'a> {
    pub fn as_bytes(self) -> &'a [u8] {
        self.0
    }

    /// Appends the labels, in order, to `out`.
    pub fn read(self, out: &mut Vec<(&'a str, &'a str)>) -> Res<()> {
        let mut buf = self.0;
        // Bounded: every turn consumes a key and a length-delimited value.
        while !buf.is_empty() {
            key(&mut buf)?;
            out.push(label::<false>(bytes(&mut buf)?)?);
        }
        Ok(())
    }
}

fn varint_field(wt: WireType, buf: &mut &[u8]) -> Res<u64> {
    wire(WireType::Varint, wt)?;
    varint(buf)
}

/// A sample's value as the record carries it.
#[derive(Debug, Clone, Copy, Default)]
pub enum ValueView<'a> {
    #[default]
    None,
    Number(f64),
    /// The `Histogram` message bytes (decoded with prost when the row is built; rare).
    Histogram(&'a [u8]),
}

/// One sample: labels as slices (sorted by name, `__name__` included), the rest by value.
#[derive(Debug, Default)]
pub struct SampleView<'a> {
    pub labels: Vec<(&'a str, &'a str)>,
    pub timestamp_ms: i64,
    pub metric_type: i32,
    pub value: ValueView<'a>,
    /// Bytes of each `Exemplar` message, in order.
    pub exemplars: Vec<&'a [u8]>,
    /// A second `Histogram` field for the same sample merges into the first (prost's
    /// rule for a message field seen twice); kept so the rare case decodes exactly.
    pub histogram_parts: Vec<&'a [u8]>,
    /// Length of the message's leading run of label fields.
    label_run: usize,
}

impl<'a> SampleView<'a> {
    /// Reads one sample of a body into `self` (its vectors are reused: no allocation
    /// once warm).
    pub fn read(&mut self, item: Item<'a>) -> Res<()> {
        if item.event {
            return Err(ViewError::WrongItem("event"));
        }
        self.read_with::<false>(item.bytes)
    }

    fn read_with<const CHECK: bool>(&mut self, body: &'a [u8]) -> Res<()> {
        self.labels.clear();
        self.exemplars.clear();
        self.histogram_parts.clear();
        self.timestamp_ms = 0;
        self.metric_type = 0;
        self.value = ValueView::None;
        self.label_run = 0;
        let mut other = false;
        let base = body.as_ptr() as usize;
        fields(body, |tag, wt, buf| {
            other |= tag != 1;
            match tag {
                1 => {
                    wire(WireType::LengthDelimited, wt)?;
                    self.labels.push(label::<CHECK>(bytes(buf)?)?);
                    if !other {
                        self.label_run = buf.as_ptr() as usize - base;
                    }
                }
                2 => self.timestamp_ms = varint_field(wt, buf)? as i64,
                3 => self.metric_type = varint_field(wt, buf)? as i32,
                4 => {
                    wire(WireType::SixtyFourBit, wt)?;
                    self.value = ValueView::Number(double(buf)?);
                    self.histogram_parts.clear();
                }
                5 => {
                    wire(WireType::LengthDelimited, wt)?;
                    let h = bytes(buf)?;
                    if !matches!(self.value, ValueView::Histogram(_)) {
                        self.histogram_parts.clear();
                    }
                    self.histogram_parts.push(h);
                    self.value = ValueView::Histogram(h);
                }
                6 => {
                    wire(WireType::LengthDelimited, wt)?;
                    self.exemplars.push(bytes(buf)?);
                }
                _ => return Ok(false),
            }
            Ok(true)
        })
    }

    /// The histogram, decoded (merging repeated fields as prost does).
    pub fn histogram(&self) -> Res<Option<Histogram>> {
        if !matches!(self.value, ValueView::Histogram(_)) {
            return Ok(None);
        }
        let mut h = Histogram::default();
        for part in &self.histogram_parts {
            h.merge(*part)?;
        }
        Ok(Some(h))
    }

    pub fn exemplars(&self) -> Res<Vec<Exemplar>> {
        Ok(self
            .exemplars
            .iter()
            .map(|b| Exemplar::decode(*b))
            .collect::<Result<_, _>>()?)
    }
}

/// One event's fields as slices.
#[derive(Debug, Default, Clone, Copy)]
pub struct EventView<'a> {
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub event_name: &'a str,
    pub event_timestamp_ms: i64,
    pub app_version: &'a str,
    pub event_data_json: &'a str,
}

impl<'a> EventView<'a> {
    /// Reads one event of a body.
    pub fn read(item: Item<'a>) -> Res<Self> {
        if !item.event {
            return Err(ViewError::WrongItem("sample"));
        }
        Self::read_with::<false>(item.bytes)
    }

    fn read_with<const CHECK: bool>(body: &'a [u8]) -> Res<Self> {
        let mut e = EventView::default();
        fields(body, |tag, wt, buf| {
            match tag {
                1 => e.event_id = string_field::<CHECK>(wt, buf)?,
                2 => e.event_type = string_field::<CHECK>(wt, buf)?,
                3 => e.event_name = string_field::<CHECK>(wt, buf)?,
                4 => e.event_timestamp_ms = varint_field(wt, buf)? as i64,
                5 => e.app_version = string_field::<CHECK>(wt, buf)?,
                6 => e.event_data_json = string_field::<CHECK>(wt, buf)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(e)
    }
}

/// Where one sample sits in its body, and its metric name (both as byte ranges; a body
/// is at most 4 GiB, checked at its parse).
#[derive(Debug, Clone, Copy)]
struct SampleAt {
    start: u32,
    len: u32,
    label_run: u32,
    name_start: u32,
    name_len: u32,
}

/// A decompressed envelope body with its header read and its items checked.
#[derive(Debug, Clone)]
pub struct Body {
    raw: Vec<u8>,
    pub tenant: String,
    pub kind: i32,
    pub ingest_time_ms: i64,
    pub producer: String,
    pub samples: usize,
    pub events: usize,
    /// Each sample's bytes and metric name, found by the parse's walk (which reads every
    /// label anyway), so the flush neither walks the envelope nor a sample's labels to
    /// group rows by metric.
    sample_at: Vec<SampleAt>,
}

impl Body {
    /// A record's bytes (magic, version, snappy) → a checked body; the same errors as
    /// `Envelope::decode_record`.
    pub fn decode_record(data: &[u8]) -> Result<Body, DecodeError> {
        Body::parse(crate::envelope::record_payload(data)?)
    }

    /// The body of an owned envelope (tests, benches that build buffers directly).
    pub fn from_envelope(env: &Envelope) -> Body {
        // Invariant: prost's encoding of an `Envelope` of Rust values (UTF-8 strings,
        // well-formed messages) is exactly what the parse accepts.
        Body::parse(env.encode_to_vec()).expect("an encoded envelope parses")
    }

    /// Checks every item and reads the header of a protobuf `Envelope`.
    pub fn parse(raw: Vec<u8>) -> Result<Body, DecodeError> {
        if u32::try_from(raw.len()).is_err() {
            return Err(DecodeError::Protobuf("envelope body over 4 GiB".into()));
        }
        let (mut tenant, mut producer) = ("", "");
        let (mut kind, mut ingest_time_ms, mut events) = (0i32, 0i64, 0);
        let mut sample = SampleView::default();
        let mut sample_at = Vec::new();
        let base = raw.as_ptr() as usize;
        // Offset of a slice of `raw` (< 4 GiB, checked above).
        let at = |b: &[u8]| (b.as_ptr() as usize - base) as u32;
        fields(&raw, |tag, wt, buf| {
            match tag {
                1 => tenant = string_field::<true>(wt, buf)?,
                2 => kind = varint_field(wt, buf)? as i32,
                3 => ingest_time_ms = varint_field(wt, buf)? as i64,
                4 => producer = string_field::<true>(wt, buf)?,
                5 => {
                    wire(WireType::LengthDelimited, wt)?;
                    let item = bytes(buf)?;
                    sample.read_with::<true>(item)?;
                    sample.histogram()?;
                    sample.exemplars()?;
                    // The last `__name__`, as the row builder takes it; none: empty.
                    let name = sample
                        .labels
                        .iter()
                        .rev()
                        .find(|(k, _)| *k == "__name__")
                        .map_or(&item[..0], |(_, v)| v.as_bytes());
                    sample_at.push(SampleAt {
                        start: at(item),
                        len: item.len() as u32,
                        label_run: sample.label_run as u32,
                        name_start: at(name),
                        name_len: name.len() as u32,
                    });
                }
                6 => {
                    wire(WireType::LengthDelimited, wt)?;
                    EventView::read_with::<true>(bytes(buf)?)?;
                    events += 1;
                }
                _ => return Ok(false),
            }
            Ok(true)
        })
        .map_err(pb)?;
        let (tenant, producer) = (tenant.to_string(), producer.to_string());
        Ok(Body {
            tenant,
            kind,
            ingest_time_ms,
            producer,
            samples: sample_at.len(),
            events,
            sample_at,
            raw,
        })
    }

    /// Size of the protobuf bytes.
    pub fn raw_len(&self) -> usize {
        self.raw.len()
    }

    pub fn kind(&self) -> Kind {
        Kind::try_from(self.kind).unwrap_or(Kind::Unspecified)
    }

    /// Items (samples plus events).
    pub fn len(&self) -> usize {
        self.samples + self.events
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each sample's metric name (its last `__name__` label, `""` without one) and
    /// message, in order.
    pub fn named_samples(&self) -> impl Iterator<Item = (&str, Item<'_>)> {
        self.sample_at.iter().map(|s| {
            let item = &self.raw[s.start as usize..][..s.len as usize];
            let name = &self.raw[s.name_start as usize..][..s.name_len as usize];
            // Checked as UTF-8 by the parse (a label value read with the check).
            let name = str_of::<false>(name).unwrap_or_default();
            (name, Item::sample(item, s.label_run))
        })
    }

    /// Calls `f(position, item)` for each event message, in order.
    pub fn each_event<'s, E: From<ViewError>>(
        &'s self,
        mut f: impl FnMut(usize, Item<'s>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut buf: &'s [u8] = &self.raw;
        let mut i = 0;
        // Bounded: every turn consumes at least the key's byte.
        while !buf.is_empty() {
            let (tag, wt) = key(&mut buf)?;
            if tag == 6 && wt == WireType::LengthDelimited {
                f(i, Item::event(bytes(&mut buf)?))?;
                i += 1;
            } else {
                skip_field(wt, tag, &mut buf, DecodeContext::default()).map_err(ViewError::from)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
