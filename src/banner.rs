//! Banners: the first bytes an open port sends, made safe to show.
//!
//! A banner comes from the scanned host, so it is hostile input. Printed as it is, its escape
//! sequences could retitle the terminal, clear the screen, move the cursor over earlier lines of
//! the report, or worse on some terminals. [`display`] turns any bytes into one line of printable
//! characters, bounded in length: escape sequences and control characters are dropped, line
//! breaks and bytes that are not UTF-8 are shown as escapes (`\r`, `\n`, `\xff`), and the result is
//! cut with an ellipsis. [`hex`] gives the raw bytes for machine output.

/// Bytes of a banner kept at most (the short read after a connect stops there).
pub const BANNER_MAX: usize = 512;

/// The ellipsis that ends a banner cut to fit.
const ELLIPSIS: char = '…';

/// The banner as one printable line of at most `max_chars` characters.
///
/// - ANSI/VT escape sequences are removed whole: CSI (`ESC [` … final byte), OSC (`ESC ]` … BEL
///   or `ESC \`), DCS, SOS, PM and APC strings, two-byte and `ESC` + intermediates sequences,
///   and their 8-bit C1 forms (0x9b, 0x9d, …), raw or UTF-8 encoded. A string sequence that is
///   never terminated hides the rest of the banner, as it would on a terminal.
/// - Other C0 controls, DEL and C1 controls are dropped; CR and LF are shown as `\r` and `\n`,
///   a tab as a space; leading and trailing line breaks and spaces are trimmed.
/// - Bytes that are not UTF-8 are shown as `\xNN`, a backslash as `\\`, and invisible Unicode
///   formatting characters that reorder or hide text (bidi overrides, zero-width characters,
///   line and paragraph separators) as `\u{NNNN}`.
/// - Longer results are cut at a whole character or escape and end with `…`.
///
/// Never panics; the work is linear in the input.
pub fn display(raw: &[u8], max_chars: usize) -> String {
    let mut out = Output::new(max_chars);
    let mut state = State::Text;
    for sym in symbols(raw) {
        if out.full {
            break;
        }
        state = step(state, sym, &mut out);
    }
    out.finish()
}

/// The raw bytes in lower-case hex, at most [`BANNER_MAX`] of them.
pub fn hex(raw: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let raw = &raw[..raw.len().min(BANNER_MAX)];
    let mut s = String::with_capacity(raw.len() * 2);
    for &b in raw {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// One unit of the input, as a terminal would see it.
#[derive(Debug, Clone, Copy)]
enum Sym {
    /// A 7-bit character (printable or control).
    Ascii(u8),
    /// A C1 control, 0x80–0x9f: a raw byte or the UTF-8 encoded character.
    C1(u8),
    /// A character from U+00A0 up.
    Wide(char),
    /// A byte that is not part of valid UTF-8 (and not a C1 control).
    Invalid(u8),
}

/// The input as symbols: UTF-8 where it is valid, single bytes where it is not.
fn symbols(raw: &[u8]) -> impl Iterator<Item = Sym> + '_ {
    raw.utf8_chunks().flat_map(|chunk| {
        let chars = chunk.valid().chars().map(|c| match u32::from(c) {
            // Both ranges fit in a byte: the casts cannot truncate.
            n @ 0..=0x7f => Sym::Ascii(n as u8),
            n @ 0x80..=0x9f => Sym::C1(n as u8),
            _ => Sym::Wide(c),
        });
        let bytes = chunk.invalid().iter().map(|&b| match b {
            0x80..=0x9f => Sym::C1(b),
            _ => Sym::Invalid(b),
        });
        chars.chain(bytes)
    })
}

/// Where the parser is, the way a VT terminal's parser would be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    /// After ESC.
    Escape,
    /// After ESC and intermediate bytes (e.g. `ESC ( B`).
    EscapeIntermediate,
    /// In a CSI sequence's parameters.
    Csi,
    /// In an OSC, DCS, SOS, PM or APC string, up to its terminator.
    String,
    /// ESC inside a string: `\` ends it, anything else starts a new sequence.
    StringEscape,
}

const ESC: u8 = 0x1b;
const BEL: u8 = 0x07;
/// CAN and SUB cancel a sequence in progress.
const CAN: u8 = 0x18;
const SUB: u8 = 0x1a;
/// 8-bit CSI and string terminator.
const C1_CSI: u8 = 0x9b;
const C1_ST: u8 = 0x9c;

/// Whether a C1 control (or the character after ESC, minus 0x40) opens a string.
fn opens_string(c1: u8) -> bool {
    // DCS 0x90, SOS 0x98, OSC 0x9d, PM 0x9e, APC 0x9f.
    matches!(c1, 0x90 | 0x98 | 0x9d | 0x9e | 0x9f)
}

/// Feeds one symbol through the parser; returns the next state.
fn step(mut state: State, sym: Sym, out: &mut Output) -> State {
    // A symbol that ends a sequence without belonging to it is read again as text.
    loop {
        state = match (state, sym) {
            (State::Text, sym) => {
                text(sym, out);
                return match sym {
                    Sym::Ascii(ESC) => State::Escape,
                    Sym::C1(C1_CSI) => State::Csi,
                    Sym::C1(c) if opens_string(c) => State::String,
                    _ => State::Text,
                };
            }
            (State::Escape, Sym::Ascii(b)) => match b {
                b'[' => return State::Csi,
                // ESC P, X, ], ^, _ are the 7-bit forms of DCS, SOS, OSC, PM, APC.
                b'P' | b'X' | b']' | b'^' | b'_' => return State::String,
                0x20..=0x2f => return State::EscapeIntermediate,
                0x30..=0x7e => return State::Text,
                ESC => return State::Escape,
                _ => State::Text,
            },
            (State::EscapeIntermediate, Sym::Ascii(b)) => match b {
                0x20..=0x2f => return State::EscapeIntermediate,
                0x30..=0x7e => return State::Text,
                ESC => return State::Escape,
                _ => State::Text,
            },
            (State::Csi, Sym::Ascii(b)) => match b {
                0x20..=0x3f => return State::Csi,
                0x40..=0x7e => return State::Text,
                ESC => return State::Escape,
                _ => State::Text,
            },
            (State::Escape | State::EscapeIntermediate | State::Csi, _) => State::Text,
            (State::String, sym) => {
                return match sym {
                    Sym::Ascii(BEL | CAN | SUB) | Sym::C1(C1_ST) => State::Text,
                    Sym::Ascii(ESC) => State::StringEscape,
                    _ => State::String,
                };
            }
            (State::StringEscape, Sym::Ascii(b'\\')) => return State::Text,
            (State::StringEscape, _) => State::Escape,
        };
    }
}

/// A symbol outside any sequence.
fn text(sym: Sym, out: &mut Output) {
    match sym {
        Sym::Ascii(b'\r') => out.space(Space::Cr),
        Sym::Ascii(b'\n') => out.space(Space::Lf),
        Sym::Ascii(b'\t' | b' ') => out.space(Space::Blank),
        Sym::Ascii(b'\\') => out.visible("\\\\"),
        Sym::Ascii(b) if (0x21..0x7f).contains(&b) => {
            let mut buf = [0u8; 4];
            out.visible(char::from(b).encode_utf8(&mut buf));
        }
        // Other C0 controls, DEL, C1 controls (sequences are handled by the caller).
        Sym::Ascii(_) | Sym::C1(_) => {}
        Sym::Wide(c) if hides_or_reorders(c) => {
            out.visible(&format!("\\u{{{:04x}}}", u32::from(c)));
        }
        Sym::Wide(c) => {
            let mut buf = [0u8; 4];
            out.visible(c.encode_utf8(&mut buf));
        }
        Sym::Invalid(b) => out.visible(&format!("\\x{b:02x}")),
    }
}

/// Invisible formatting characters that can make a line read differently from what it holds:
/// bidirectional overrides and isolates, zero-width characters, line and paragraph separators,
/// byte-order mark, interlinear annotations, tag characters.
fn hides_or_reorders(c: char) -> bool {
    matches!(
        u32::from(c),
        0x061c
            | 0x180e
            | 0x200b..=0x200f
            | 0x2028..=0x202e
            | 0x2060..=0x206f
            | 0xfeff
            | 0xfff9..=0xfffb
            | 0xe0000..=0xe007f
    )
}

/// Whitespace, kept back until something visible follows (so it is trimmed at both ends).
#[derive(Debug, Clone, Copy)]
enum Space {
    Cr,
    Lf,
    Blank,
}

impl Space {
    fn text(self) -> &'static str {
        match self {
            Space::Cr => "\\r",
            Space::Lf => "\\n",
            Space::Blank => " ",
        }
    }
}

/// The line being built, cut at `max` characters.
struct Output {
    s: String,
    chars: usize,
    max: usize,
    /// Length of `s` (bytes) at the last piece boundary at most `max - 1` characters in: where
    /// the line is cut to make room for the ellipsis.
    cut: usize,
    /// Whitespace waiting for something visible; never more than `max + 1` characters of it.
    pending: Vec<Space>,
    pending_chars: usize,
    /// The line is cut: nothing more is added.
    full: bool,
}

impl Output {
    fn new(max: usize) -> Self {
        Output {
            s: String::new(),
            chars: 0,
            max,
            cut: 0,
            pending: Vec::new(),
            pending_chars: 0,
            full: max == 0,
        }
    }

    fn space(&mut self, space: Space) {
        // Whitespace before anything visible is trimmed; beyond `max` it cannot all fit anyway.
        if self.chars == 0 || self.pending_chars > self.max {
            return;
        }
        self.pending_chars += space.text().len();
        self.pending.push(space);
    }

    fn visible(&mut self, piece: &str) {
        let pending = std::mem::take(&mut self.pending);
        self.pending_chars = 0;
        for space in pending {
            self.piece(space.text());
        }
        self.piece(piece);
    }

    fn piece(&mut self, piece: &str) {
        if self.full {
            return;
        }
        let n = piece.chars().count();
        if self.chars + n > self.max {
            self.s.truncate(self.cut);
            self.s.push(ELLIPSIS);
            self.full = true;
            return;
        }
        self.s.push_str(piece);
        self.chars += n;
        if self.chars < self.max {
            self.cut = self.s.len();
        }
    }

    fn finish(self) -> String {
        self.s
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn shown(raw: &[u8]) -> String {
        display(raw, 80)
    }

    /// Nothing a terminal would act on: no C0, DEL or C1 control, no ESC, no hidden formatting.
    fn is_inert(s: &str) -> bool {
        s.chars().all(|c| {
            let n = u32::from(c);
            n >= 0x20 && n != 0x7f && !(0x80..=0x9f).contains(&n) && !hides_or_reorders(c)
        })
    }

    #[test]
    fn plain_banners_are_kept_without_their_line_end() {
        assert_eq!(shown(b"SSH-2.0-OpenSSH_9.6\r\n"), "SSH-2.0-OpenSSH_9.6");
        assert_eq!(shown(b"\r\n  220 ready \r\n\r\n"), "220 ready");
        assert_eq!(shown("220 café ünïcødé\r\n".as_bytes()), "220 café ünïcødé");
    }

    #[test]
    fn inner_line_breaks_and_tabs_stay_on_one_line() {
        assert_eq!(
            shown(b"220-first\r\n220 second\r\n"),
            "220-first\\r\\n220 second"
        );
        assert_eq!(shown(b"a\nb\tc"), "a\\nb c");
        assert_eq!(shown(b"back\\slash"), "back\\\\slash");
    }

    #[test]
    fn terminal_title_and_screen_sequences_are_removed() {
        assert_eq!(shown(b"\x1b]0;pwned\x07SSH-2.0-x"), "SSH-2.0-x");
        assert_eq!(shown(b"\x1b]0;pwned\x1b\\after"), "after");
        assert_eq!(shown(b"\x1b[2J\x1b[HHello"), "Hello");
        assert_eq!(shown(b"\x1b[1;31mred\x1b[0m text"), "red text");
        assert_eq!(shown(b"\x1b[?1049hx"), "x");
        assert_eq!(
            shown(b"\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\"),
            "link"
        );
        assert_eq!(shown(b"\x1bP+q544e\x1b\\dcs"), "dcs");
        assert_eq!(shown(b"\x1b_apc\x1b\\\x1b^pm\x1b\\\x1bXsos\x1b\\ok"), "ok");
        assert_eq!(shown(b"\x1b(Bcharset \x1bc\x1b7reset"), "charset reset");
    }

    #[test]
    fn eight_bit_controls_are_removed() {
        assert_eq!(shown(b"\x9b31mred"), "red");
        assert_eq!(shown("\u{9b}31mred".as_bytes()), "red");
        assert_eq!(shown(b"\x9d0;title\x9cvisible"), "visible");
        assert_eq!(shown("\u{9d}0;title\u{9c}visible".as_bytes()), "visible");
        assert_eq!(shown(b"a\x85b\x8dc"), "abc");
    }

    #[test]
    fn other_controls_and_del_are_dropped() {
        assert_eq!(shown(b"J\x00\x00\x00\x0a8.0.36\x00"), "J\\n8.0.36");
        assert_eq!(shown(b"be\x07ll\x08\x7f!"), "bell!");
    }

    #[test]
    fn an_unterminated_string_hides_the_rest() {
        assert_eq!(shown(b"shown \x1b]0;never closed"), "shown");
        assert_eq!(shown(b"x\x1b"), "x");
        assert_eq!(shown(b"x\x1b["), "x");
    }

    #[test]
    fn a_broken_sequence_gives_its_text_back() {
        // A control inside a CSI ends it; the rest is ordinary text.
        assert_eq!(shown(b"\x1b[31\x00mred"), "mred");
        assert_eq!(shown(b"\x1b\xffx"), "\\xffx");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_escaped() {
        assert_eq!(shown(b"\xff\xfeok"), "\\xff\\xfeok");
        assert_eq!(shown(b"caf\xc3"), "caf\\xc3");
    }

    #[test]
    fn hidden_formatting_is_made_visible() {
        assert_eq!(
            shown("\u{202e}cod.exe\u{200b}".as_bytes()),
            "\\u{202e}cod.exe\\u{200b}"
        );
    }

    #[test]
    fn long_banners_are_cut_with_an_ellipsis() {
        assert_eq!(display(b"abcde", 5), "abcde");
        assert_eq!(display(b"abcdefghij", 5), "abcd…");
        assert_eq!(display(b"abc\xff", 5), "abc…");
        assert_eq!(display(b"abcd\r\n", 5), "abcd");
        assert_eq!(display(b"ab\r\ncd", 5), "ab\\r…");
        assert_eq!(display(b"abc", 0), "");
        assert_eq!(display(b"ab", 1), "…");
        assert_eq!(display(b"", 10), "");
    }

    #[test]
    fn a_megabyte_of_garbage_is_cheap_and_bounded() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let garbage: Vec<u8> = (0..1 << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        let s = display(&garbage, 60);
        assert!(s.chars().count() <= 60, "{s}");
        assert!(is_inert(&s), "{s:?}");
        let csi: Vec<u8> = b"\x1b[".iter().copied().cycle().take(1 << 20).collect();
        assert_eq!(display(&csi, 60), "");
        let newlines = vec![b'\n'; 1 << 20];
        assert_eq!(display(&newlines, 60), "");
        let mut spaced = b"a".to_vec();
        spaced.extend(std::iter::repeat_n(b'\n', 1 << 20));
        spaced.push(b'b');
        assert_eq!(display(&spaced, 7), "a\\n\\n…");
    }

    #[test]
    fn hex_is_bounded() {
        assert_eq!(hex(b"\x00\x1bA\xff"), "001b41ff");
        assert_eq!(hex(&[0xab; 4096]).len(), 2 * BANNER_MAX);
    }

    /// Pieces that make the parser's life hard, for the structured property.
    fn fragment() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(b"\x1b".to_vec()),
            Just(b"\x1b[".to_vec()),
            Just(b"\x1b]".to_vec()),
            Just(b"\x1bP".to_vec()),
            Just(b"\x1b\\".to_vec()),
            Just(b"\x07".to_vec()),
            Just(b"\x9b".to_vec()),
            Just(b"\x9c".to_vec()),
            Just("\u{9b}".as_bytes().to_vec()),
            Just("\u{202e}".as_bytes().to_vec()),
            Just(b"\r\n".to_vec()),
            Just(b"\\".to_vec()),
            Just(b"31;1m".to_vec()),
            Just("é".as_bytes().to_vec()),
            proptest::collection::vec(any::<u8>(), 0..8),
        ]
    }

    proptest! {
        #[test]
        fn any_bytes_give_an_inert_bounded_line(
            raw in proptest::collection::vec(any::<u8>(), 0..2048),
            max in 0usize..120,
        ) {
            let s = display(&raw, max);
            prop_assert!(s.chars().count() <= max, "{} > {max}: {s:?}", s.chars().count());
            prop_assert!(is_inert(&s), "{s:?}");
        }

        #[test]
        fn escape_heavy_input_gives_an_inert_bounded_line(
            parts in proptest::collection::vec(fragment(), 0..64),
            max in 0usize..120,
        ) {
            let raw = parts.concat();
            let s = display(&raw, max);
            prop_assert!(s.chars().count() <= max, "{} > {max}: {s:?}", s.chars().count());
            prop_assert!(is_inert(&s), "{s:?}");
            // A cut line is the start of the whole one; a line that fits is not cut.
            let whole = display(&raw, usize::MAX);
            if whole.chars().count() <= max {
                prop_assert_eq!(&s, &whole);
            } else {
                prop_assert!(max == 0 || s.ends_with(ELLIPSIS), "{s:?}");
                prop_assert!(whole.starts_with(s.trim_end_matches(ELLIPSIS)), "{s:?} / {whole:?}");
            }
        }
    }
}
