//! The XML underneath the nmap and Nessus readers: a walk over the document with quick-xml that
//! yields elements, their ends and their text, checks well-formedness as it goes, and tells a
//! document cut short (an aborted scan: the file simply ends, maybe inside a tag) from a
//! malformed one.
//!
//! - Malformed XML before the end of the input (mismatched or unmatched end tags, bad attribute
//!   syntax, unknown entities, markup that is not XML) is an error naming the file, the line and
//!   the column, computed from the byte offset quick-xml reports.
//! - Input that ends inside an element, a tag, an attribute value, a comment or an entity
//!   reference is [`Node::Cut`]: the readers keep what they completed before it.
//! - Entities are the five XML predefines and character references; any other is an error (no
//!   entity from a DTD is ever expanded).
//! - The work is linear in the input: attributes are not checked for duplicates (quick-xml's
//!   check is quadratic in the attributes of one tag); a repeated attribute reads as its first.

use std::borrow::Cow;

use quick_xml::Reader;
use quick_xml::errors::{Error as XmlError, IllFormedError, SyntaxError};
use quick_xml::events::attributes::AttrError;
use quick_xml::events::{BytesStart, Event};

use super::{Baseline, line_col, shown, unknown_format};
use crate::error::Failure;

/// Reads an XML baseline: nmap or Nessus, told apart by the root element.
pub(super) fn read(text: &str, name: &str) -> Result<Baseline, Failure> {
    let mut walk = XmlWalk::new(text, name);
    loop {
        match walk.next()? {
            Node::Open(root) => {
                return match root.name.as_str() {
                    "nmaprun" => super::nmap::read(walk, root),
                    "NessusClientData_v2" => super::nessus::read(walk, root),
                    "NessusClientData" => Err(Failure::usage(format!(
                        "{name} is a Nessus v1 export (<NessusClientData>); scanwatch reads Nessus v2: \
                         export the scan as \"Nessus\" (.nessus, <NessusClientData_v2>)"
                    ))),
                    other => Err(unknown_format(
                        name,
                        &format!(
                            "an XML document whose root element is <{}>",
                            shown(other, 60)
                        ),
                    )),
                };
            }
            Node::Text(_) | Node::Close(_) => {}
            Node::End | Node::Cut => {
                // A prolog and nothing else: an nmap file cut before its root element says
                // so in its document type or its opening comment.
                if text.contains("<!DOCTYPE nmaprun") || text.contains("<!-- Nmap ") {
                    return Ok(super::nmap::empty(name));
                }
                return Err(unknown_format(
                    name,
                    "an XML document without a root element",
                ));
            }
        }
    }
}

/// One step of the walk.
#[derive(Debug)]
pub(super) enum Node<'a> {
    /// An element starts (an empty element `<a/>` is an `Open` followed by a `Close`).
    Open(Element),
    /// The innermost open element ends.
    Close(String),
    /// Character data (text, entity references resolved, CDATA).
    Text(Cow<'a, str>),
    /// The input ended with every element closed.
    End,
    /// The input ended inside an element or inside markup: the document was cut short.
    Cut,
}

/// An element's start tag.
#[derive(Debug)]
pub(super) struct Element {
    pub name: String,
    attrs: Vec<(String, String)>,
    /// Byte offset of its `<` in the text.
    pub offset: usize,
}

impl Element {
    /// An attribute's value (entities resolved), the first one when it is repeated.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The walk; see the module documentation.
pub(super) struct XmlWalk<'a> {
    text: &'a str,
    name: &'a str,
    reader: Reader<&'a [u8]>,
    /// Names of the open elements, outermost first.
    path: Vec<String>,
    /// The close that follows an empty element's open.
    pending_close: Option<String>,
    finished: bool,
    /// Where the markup the input ended in starts, when it ended inside markup.
    cut_markup: Option<usize>,
}

impl<'a> XmlWalk<'a> {
    pub fn new(text: &'a str, name: &'a str) -> Self {
        let mut reader = Reader::from_str(text);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.trim_text_start = false;
        config.trim_text_end = false;
        config.expand_empty_elements = false;
        XmlWalk {
            text,
            name,
            reader,
            path: Vec::new(),
            pending_close: None,
            finished: false,
            cut_markup: None,
        }
    }

    /// The names of the open elements, outermost first (an element is in it from its `Open` to
    /// its `Close`).
    pub fn path(&self) -> &[String] {
        &self.path
    }

    /// Whether the open elements end with `tail` (innermost last).
    pub fn inside(&self, tail: &[&str]) -> bool {
        self.path.len() >= tail.len()
            && self
                .path
                .iter()
                .rev()
                .zip(tail.iter().rev())
                .all(|(a, b)| a.as_str() == *b)
    }

    /// The file name as messages give it.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// An error at byte `offset`: `file:line:column: message`.
    pub fn error_at(&self, offset: usize, message: &str) -> Failure {
        let (line, column) = line_col(self.text, offset);
        Failure::usage(format!("{}:{line}:{column}: {message}", self.name))
    }

    /// Where a cut input ends, for a note: `at line 61`, and where the markup it ends in
    /// starts when that is an earlier line (an unclosed comment would hide the rest of a file).
    pub fn cut_place(&self) -> String {
        let end = line_col(self.text, self.text.len()).0;
        match self.cut_markup.map(|at| line_col(self.text, at)) {
            Some((line, column)) if line < end => {
                format!("at line {end}, inside markup that starts at line {line}, column {column}")
            }
            _ => format!("at line {end}"),
        }
    }

    /// The note for an input cut before its `root` closed (`</nmaprun>`): where it ends, `why`
    /// that happens, how many hosts it completed, and the line of the host it cut
    /// (`cut_host_at`, a byte offset), which is left out.
    pub fn cut_note(
        &self,
        root: &str,
        why: &str,
        hosts: usize,
        cut_host_at: Option<usize>,
    ) -> String {
        let mut note = format!(
            "{}: the XML ends {} before {root}, {why}: read the {} it completed",
            self.name,
            self.cut_place(),
            super::count(hosts, "host", "hosts")
        );
        if let Some(offset) = cut_host_at {
            note.push_str(&format!(
                "; the host started at line {} was cut and is left out",
                self.line_of(offset)
            ));
        }
        note
    }

    /// The line of byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        line_col(self.text, offset).0
    }

    /// The next step; an error for malformed XML.
    pub fn next(&mut self) -> Result<Node<'a>, Failure> {
        if let Some(name) = self.pending_close.take() {
            self.path.pop();
            return Ok(Node::Close(name));
        }
        loop {
            if self.finished {
                return Ok(if self.path.is_empty() {
                    Node::End
                } else {
                    Node::Cut
                });
            }
            let offset = usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX);
            let event = match self.reader.read_event() {
                Ok(event) => event,
                Err(e) => {
                    let at = usize::try_from(self.reader.error_position()).unwrap_or(offset);
                    if self.cut_at(&e, at) {
                        self.finished = true;
                        self.cut_markup = Some(at);
                        return Ok(Node::Cut);
                    }
                    self.finished = true;
                    return Err(self.error_at(at, &format!("malformed XML: {}", describe(&e))));
                }
            };
            match event {
                Event::Start(start) => {
                    let element = self.element(&start, offset)?;
                    self.path.push(element.name.clone());
                    return Ok(Node::Open(element));
                }
                Event::Empty(start) => {
                    let element = self.element(&start, offset)?;
                    self.path.push(element.name.clone());
                    self.pending_close = Some(element.name.clone());
                    return Ok(Node::Open(element));
                }
                Event::End(_) => {
                    // quick-xml has checked the name against the open element.
                    let name = self.path.pop().unwrap_or_default();
                    return Ok(Node::Close(name));
                }
                Event::Text(text) => return Ok(Node::Text(text.xml10_content())),
                Event::CData(data) => return Ok(Node::Text(data.xml10_content())),
                Event::GeneralRef(reference) => {
                    let resolved = if reference.is_char_ref() {
                        match reference.resolve_char_ref() {
                            Ok(Some(c)) => Some(c.to_string()),
                            _ => None,
                        }
                    } else {
                        predefined_entity(&reference).map(str::to_string)
                    };
                    let Some(resolved) = resolved else {
                        self.finished = true;
                        let shown_ref = shown(&reference, 40);
                        return Err(self.error_at(
                            offset,
                            &format!(
                                "malformed XML: unknown entity or bad character reference `&{shown_ref};`"
                            ),
                        ));
                    };
                    return Ok(Node::Text(Cow::Owned(resolved)));
                }
                Event::Eof => self.finished = true,
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }
    }

    /// A start tag's name and attributes; bad attribute syntax is an error at the tag.
    fn element(&mut self, start: &BytesStart<'_>, offset: usize) -> Result<Element, Failure> {
        let name = start.name().into_inner().to_string();
        let mut attrs = Vec::new();
        let mut iter = start.attributes();
        iter.with_checks(false);
        for attr in iter {
            let attr = match attr {
                Ok(attr) => attr,
                Err(e) => {
                    self.finished = true;
                    let (at, why) = attr_error(&e);
                    // Positions count from the character after `<`.
                    return Err(self.error_at(
                        offset.saturating_add(1).saturating_add(at),
                        &format!(
                            "malformed XML: bad attribute in <{}>: {why}",
                            shown(&name, 40)
                        ),
                    ));
                }
            };
            let key = attr.key.into_inner().to_string();
            let value = match attr.normalized_value(quick_xml::XmlVersion::Implicit1_0) {
                Ok(value) => value.into_owned(),
                Err(e) => {
                    self.finished = true;
                    return Err(self.error_at(
                        offset,
                        &format!(
                            "malformed XML: attribute `{}` of <{}>: {}",
                            shown(&key, 40),
                            shown(&name, 40),
                            describe(&e)
                        ),
                    ));
                }
            };
            attrs.push((key, value));
        }
        Ok(Element {
            name,
            attrs,
            offset,
        })
    }

    /// Whether the error is the input ending inside markup (a cut) rather than bad XML.
    fn cut_at(&self, error: &XmlError, at: usize) -> bool {
        let rest = self.text.get(at..).unwrap_or_default();
        match error {
            XmlError::Syntax(SyntaxError::InvalidBangMarkup) => rest.trim_end() == "<!",
            // Every other syntax error is quick-xml meeting the end of the input inside markup.
            XmlError::Syntax(_) => true,
            // `&` with no `;` before the end; one followed by `&` or `<` is bad XML.
            XmlError::IllFormed(IllFormedError::UnclosedReference) => {
                !rest.get(1..).unwrap_or_default().contains(['&', '<'])
            }
            _ => false,
        }
    }
}

/// The five entities XML predefines.
fn predefined_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "apos" => "'",
        "quot" => "\"",
        _ => return None,
    })
}

/// Where in its tag an attribute error is, and what it is.
fn attr_error(error: &AttrError) -> (usize, String) {
    match error {
        AttrError::ExpectedEq(at) => (*at, "an attribute name must be followed by `=`".into()),
        AttrError::ExpectedValue(at) => (*at, "`=` must be followed by a quoted value".into()),
        AttrError::UnquotedValue(at) => (*at, "an attribute value must be in quotes".into()),
        AttrError::ExpectedQuote(at, quote) => (
            *at,
            format!(
                "an attribute value is missing its closing {}",
                char::from(*quote)
            ),
        ),
        AttrError::Duplicated(at, _) => (*at, "an attribute is repeated".into()),
    }
}

/// quick-xml's error in words.
fn describe(error: &XmlError) -> String {
    match error {
        XmlError::IllFormed(e) => e.to_string(),
        XmlError::Syntax(e) => e.to_string(),
        XmlError::InvalidAttr(e) => e.to_string(),
        XmlError::Escape(e) => e.to_string(),
        other => other.to_string(),
    }
}
