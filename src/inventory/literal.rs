//! INI inventory values, typed the way Ansible types them: by Python's
//! `ast.literal_eval`, falling back to the text itself when that fails. So
//! `22` is a number, `True` a boolean, `None` null, `'x'` the string `x`,
//! `[1, 2]` a list and `{'a': 1}` a mapping, while `yes`, `true`, `FALSE`,
//! `0644` and `foo bar` stay strings.

use super::{Map, Value};

/// The typed value of an INI value, or the text itself.
pub(super) fn parse_value(text: &str) -> Value {
    literal(text).unwrap_or_else(|| Value::String(text.to_string()))
}

/// A Python literal expression, or `None` where `literal_eval` would fail
/// (or give something JSON cannot hold, such as a complex number).
fn literal(text: &str) -> Option<Value> {
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
    };
    p.skip_ws();
    let first = p.item()?;
    p.skip_ws();
    let value = if p.peek() == Some(',') {
        // A bare `1, 2` is a tuple.
        let mut items = vec![first];
        while p.eat(',') {
            p.skip_ws();
            if p.at_end() {
                break;
            }
            items.push(p.item()?);
            p.skip_ws();
        }
        Value::Array(items)
    } else {
        first
    };
    p.at_end().then_some(value)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.pos += 1;
        }
    }

    /// The end of the expression: nothing left but a Python comment.
    fn at_end(&self) -> bool {
        matches!(self.peek(), None | Some('#'))
    }

    fn item(&mut self) -> Option<Value> {
        self.skip_ws();
        let c = self.peek()?;
        match c {
            '[' => {
                self.pos += 1;
                Some(Value::Array(self.items(']')?))
            }
            '(' => {
                self.pos += 1;
                self.skip_ws();
                if self.eat(')') {
                    return Some(Value::Array(Vec::new()));
                }
                let first = self.item()?;
                self.skip_ws();
                if self.eat(')') {
                    return Some(first);
                }
                if !self.eat(',') {
                    return None;
                }
                let mut items = vec![first];
                items.extend(self.items(')')?);
                Some(Value::Array(items))
            }
            '{' => {
                self.pos += 1;
                self.braces()
            }
            '+' | '-' => {
                self.pos += 1;
                self.skip_ws();
                let n = self.number()?;
                if c == '+' {
                    return Some(n);
                }
                match n {
                    Value::Number(n) if n.is_i64() => {
                        n.as_i64().and_then(i64::checked_neg).map(Value::from)
                    }
                    Value::Number(n) if n.is_u64() => {
                        let v = i128::from(n.as_u64()?);
                        i64::try_from(-v).ok().map(Value::from)
                    }
                    Value::Number(n) => {
                        serde_json::Number::from_f64(-n.as_f64()?).map(Value::Number)
                    }
                    _ => None,
                }
            }
            '0'..='9' => self.number(),
            '.' if self.peek_at(1).is_some_and(|d| d.is_ascii_digit()) => self.number(),
            '\'' | '"' => self.strings(),
            c if c.is_alphabetic() || c == '_' => {
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    self.pos += 1;
                }
                let word: String = self.chars[start..self.pos].iter().collect();
                match (word.as_str(), self.peek()) {
                    (_, Some('\'' | '"')) => {
                        self.pos = start;
                        self.strings()
                    }
                    ("True", _) => Some(Value::Bool(true)),
                    ("False", _) => Some(Value::Bool(false)),
                    ("None", _) => Some(Value::Null),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Comma-separated items up to `close`; a trailing comma is allowed.
    fn items(&mut self, close: char) -> Option<Vec<Value>> {
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.eat(close) {
                return Some(items);
            }
            items.push(self.item()?);
            self.skip_ws();
            if !self.eat(',') {
                self.skip_ws();
                return self.eat(close).then_some(items);
            }
        }
    }

    /// `{}`, a dict `{k: v, ...}` or a set `{a, b}` (a list in JSON).
    fn braces(&mut self) -> Option<Value> {
        self.skip_ws();
        if self.eat('}') {
            return Some(Value::Object(Map::new()));
        }
        let first = self.item()?;
        self.skip_ws();
        if !self.eat(':') {
            let mut items = vec![first];
            if self.eat(',') {
                items.extend(self.items('}')?);
            } else if !self.eat('}') {
                return None;
            }
            return Some(Value::Array(items));
        }
        let mut map = Map::new();
        let mut key = first;
        loop {
            let value = self.item()?;
            map.insert(key_text(&key)?, value);
            self.skip_ws();
            if self.eat('}') {
                return Some(Value::Object(map));
            }
            if !self.eat(',') {
                return None;
            }
            self.skip_ws();
            if self.eat('}') {
                return Some(Value::Object(map));
            }
            key = self.item()?;
            self.skip_ws();
            if !self.eat(':') {
                return None;
            }
        }
    }

    /// Python number syntax: `0x1f`, `0o17`, `0b11`, `1_000`, `1.5`, `.5`,
    /// `1e3`. A decimal with a leading zero (`0644`) is not a number.
    fn number(&mut self) -> Option<Value> {
        let radix = match (self.peek(), self.peek_at(1)) {
            (Some('0'), Some('x' | 'X')) => 16,
            (Some('0'), Some('o' | 'O')) => 8,
            (Some('0'), Some('b' | 'B')) => 2,
            _ => 10,
        };
        if radix != 10 {
            self.pos += 2;
            let digits = self.digits(radix, true)?;
            self.end_of_number()?;
            return int_value(i128::from_str_radix(&digits, radix).ok()?);
        }
        let int_part = if self.peek() == Some('.') {
            String::new()
        } else {
            self.digits(10, false)?
        };
        let mut float = false;
        let mut text = int_part.clone();
        if self.eat('.') {
            float = true;
            text.push('.');
            if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                text.push_str(&self.digits(10, false)?);
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            float = true;
            self.pos += 1;
            text.push('e');
            if let Some(sign @ ('+' | '-')) = self.peek() {
                self.pos += 1;
                text.push(sign);
            }
            text.push_str(&self.digits(10, false)?);
        }
        self.end_of_number()?;
        if float {
            let f: f64 = text.parse().ok()?;
            return serde_json::Number::from_f64(f).map(Value::Number);
        }
        if int_part.len() > 1 && int_part.starts_with('0') && int_part.chars().any(|c| c != '0') {
            return None;
        }
        int_value(int_part.parse().ok()?)
    }

    /// Digits with single underscores between them. After a `0x`-style
    /// prefix an underscore may also come first.
    fn digits(&mut self, radix: u32, leading_underscore: bool) -> Option<String> {
        let mut out = String::new();
        loop {
            let underscore = self.peek() == Some('_') && (leading_underscore || !out.is_empty());
            let at = if underscore { 1 } else { 0 };
            match self.peek_at(at) {
                Some(d) if d.is_digit(radix) => {
                    out.push(d);
                    self.pos += at + 1;
                }
                _ => break,
            }
        }
        (!out.is_empty()).then_some(out)
    }

    /// A number must not run into letters: `1abc`, `1j` and `1.2.3` are not literals.
    fn end_of_number(&self) -> Option<()> {
        match self.peek() {
            Some(c) if c.is_alphanumeric() || c == '_' || c == '.' => None,
            _ => Some(()),
        }
    }

    /// One or more adjacent string literals, joined as Python joins them.
    fn strings(&mut self) -> Option<Value> {
        let mut out = String::new();
        loop {
            out.push_str(&self.string()?);
            let save = self.pos;
            self.skip_ws();
            let prefix = self.chars[self.pos..]
                .iter()
                .take_while(|c| c.is_alphabetic())
                .count();
            if !matches!(self.peek_at(prefix), Some('\'' | '"')) {
                self.pos = save;
                return Some(Value::String(out));
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        let mut prefix = String::new();
        while let Some(c) = self.peek().filter(|c| c.is_alphabetic()) {
            prefix.push(c.to_ascii_lowercase());
            self.pos += 1;
        }
        // f-strings are not literals; bytes are decoded as Ansible's to_text does.
        let raw = prefix.contains('r');
        let bytes = prefix.contains('b');
        if !matches!(prefix.as_str(), "" | "r" | "u" | "b" | "br" | "rb") {
            return None;
        }
        let quote = self.peek()?;
        self.pos += 1;
        let triple = self.peek() == Some(quote) && self.peek_at(1) == Some(quote);
        if triple {
            self.pos += 2;
        }
        let mut out = String::new();
        loop {
            let c = self.peek()?;
            self.pos += 1;
            if c == quote
                && (!triple || (self.peek() == Some(quote) && self.peek_at(1) == Some(quote)))
            {
                if triple {
                    self.pos += 2;
                }
                return Some(out);
            }
            match c {
                '\n' if !triple => return None,
                '\\' if raw => {
                    out.push('\\');
                    out.push(self.peek()?);
                    self.pos += 1;
                }
                '\\' => self.escape(&mut out, bytes)?,
                _ => out.push(c),
            }
        }
    }

    fn escape(&mut self, out: &mut String, bytes: bool) -> Option<()> {
        let c = self.peek()?;
        self.pos += 1;
        let simple = match c {
            '\n' => return Some(()),
            '\\' | '\'' | '"' => Some(c),
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'f' => Some('\x0c'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\x0b'),
            _ => None,
        };
        if let Some(s) = simple {
            out.push(s);
            return Some(());
        }
        let (len, radix) = match c {
            '0'..='7' => {
                self.pos -= 1;
                let n = self.chars[self.pos..]
                    .iter()
                    .take(3)
                    .take_while(|d| d.is_digit(8))
                    .count();
                (n, 8)
            }
            'x' => (2, 16),
            'u' if !bytes => (4, 16),
            'U' if !bytes => (8, 16),
            // Python keeps unknown escapes as they are.
            _ => {
                out.push('\\');
                out.push(c);
                return Some(());
            }
        };
        let digits: String = self.chars.get(self.pos..self.pos + len)?.iter().collect();
        if !digits.chars().all(|d| d.is_digit(radix)) {
            return None;
        }
        let code = u32::from_str_radix(&digits, radix).ok()?;
        self.pos += len;
        out.push(char::from_u32(code)?);
        Some(())
    }
}

fn int_value(n: i128) -> Option<Value> {
    if let Ok(i) = i64::try_from(n) {
        Some(Value::from(i))
    } else {
        u64::try_from(n).ok().map(Value::from)
    }
}

/// A dict key as text, as JSON needs it (Python's `str()` of the key).
fn key_text(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.clone()),
        Value::Bool(true) => Some("True".into()),
        Value::Bool(false) => Some("False".into()),
        Value::Null => Some("None".into()),
        Value::Number(n) => Some(n.to_string()),
        // Lists and dicts cannot be keys in Python.
        _ => None,
    }
}
