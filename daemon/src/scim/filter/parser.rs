//! A recursive-descent parser for RFC 7644 §3.4.2.2 filters and §3.5.2
//! PATCH paths.
//!
//! scim_v2's grammar was not used because it lacks the form Entra ID sends
//! for email lookups, `emails[type eq "work"].value eq "x"` (a value path
//! followed by a sub-attribute comparison), and needs a space after `not`.
//! Operators, `and`/`or`/`not` and the JSON literals are matched without
//! regard to case. String values must be quoted, as the RFC requires.
//! Nesting and size are bounded so hostile input cannot exhaust the stack;
//! a NUL character is refused.

use serde_json::Number;

use super::{AttrExp, CompValue, CompareOp, Filter, SubTest, Test, ValuePath};
use crate::scim::error::ScimError;
use crate::scim::patch::PatchPath;
use crate::scim::path::AttrPath;

/// The deepest nesting of `( )`, `not ( )` and `[ ]` accepted.
pub const MAX_DEPTH: usize = 32;
/// The most attribute expressions one filter may hold.
pub const MAX_TERMS: usize = 256;
/// The longest filter accepted, in bytes.
pub const MAX_LEN: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    Dot,
    Str(String),
    Num(Number),
    Word(String),
}

/// Parse a whole filter expression.
pub fn parse_filter(input: &str) -> Result<Filter, ScimError> {
    let mut parser = Parser::new(input, ScimError::invalid_filter)?;
    let filter = parser.or_expr(false)?;
    parser.finish()?;
    Ok(filter)
}

/// Parse a PATCH `path`: `attrPath` or `attrPath "[" valFilter "]" ["." name]`.
pub fn parse_patch_path(input: &str) -> Result<PatchPath, ScimError> {
    let mut parser = Parser::new(input, ScimError::invalid_path)?;
    let attr = parser.attr_path()?;
    if parser.peek() != Some(&Token::OpenBracket) {
        parser.finish()?;
        return Ok(PatchPath::Attr(attr));
    }
    parser.bump();
    parser.enter()?;
    let filter = parser.or_expr(true)?;
    parser.expect(&Token::CloseBracket, "`]`")?;
    let sub_attr = if parser.peek() == Some(&Token::Dot) {
        parser.bump();
        Some(parser.plain_name()?)
    } else {
        None
    };
    parser.finish()?;
    Ok(PatchPath::Value {
        attr,
        filter: Box::new(filter),
        sub_attr,
    })
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    terms: usize,
    error: fn(String) -> ScimError,
}

impl Parser {
    fn new(input: &str, error: fn(String) -> ScimError) -> Result<Self, ScimError> {
        if input.len() > MAX_LEN {
            return Err(error(format!("longer than {MAX_LEN} bytes")));
        }
        // PostgreSQL cannot compare text with one; both backends answer alike.
        if input.contains('\0') {
            return Err(error("a NUL character (U+0000) is not allowed".into()));
        }
        let tokens = lex(input).map_err(error)?;
        Ok(Parser {
            tokens,
            pos: 0,
            depth: 0,
            terms: 0,
            error,
        })
    }

    fn fail<T>(&self, message: impl Into<String>) -> Result<T, ScimError> {
        Err((self.error)(message.into()))
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_word(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword))
    }

    fn bump(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn expect(&mut self, token: &Token, what: &str) -> Result<(), ScimError> {
        match self.bump() {
            Some(t) if &t == token => {
                self.depth = self.depth.saturating_sub(1);
                Ok(())
            }
            Some(t) => self.fail(format!("expected {what}, found {}", describe(&t))),
            None => self.fail(format!("expected {what}, found the end of the filter")),
        }
    }

    fn enter(&mut self) -> Result<(), ScimError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.fail(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    fn finish(&self) -> Result<(), ScimError> {
        match self.peek() {
            None => Ok(()),
            Some(t) => self.fail(format!(
                "unexpected {} after a complete expression",
                describe(t)
            )),
        }
    }

    fn or_expr(&mut self, inner: bool) -> Result<Filter, ScimError> {
        let mut items = Vec::new();
        push_flat(&mut items, self.and_expr(inner)?, true);
        while self.peek_word("or") {
            self.bump();
            push_flat(&mut items, self.and_expr(inner)?, true);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Filter::Or(items)
        })
    }

    fn and_expr(&mut self, inner: bool) -> Result<Filter, ScimError> {
        let mut items = Vec::new();
        push_flat(&mut items, self.unary(inner)?, false);
        while self.peek_word("and") {
            self.bump();
            push_flat(&mut items, self.unary(inner)?, false);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Filter::And(items)
        })
    }

    fn unary(&mut self, inner: bool) -> Result<Filter, ScimError> {
        if self.peek_word("not") && self.tokens.get(self.pos + 1) == Some(&Token::Open) {
            self.pos += 2;
            self.enter()?;
            let filter = self.or_expr(inner)?;
            self.expect(&Token::Close, "`)`")?;
            return Ok(Filter::Not(Box::new(filter)));
        }
        if self.peek() == Some(&Token::Open) {
            self.bump();
            self.enter()?;
            let filter = self.or_expr(inner)?;
            self.expect(&Token::Close, "`)`")?;
            return Ok(filter);
        }

        let path = self.attr_path()?;
        if self.peek() != Some(&Token::OpenBracket) {
            let test = self.test()?;
            return Ok(Filter::Attr(AttrExp { path, test }));
        }
        if inner {
            return self.fail("a value filter inside `[ ]` cannot hold another `[ ]`");
        }

        self.bump();
        self.enter()?;
        let filter = self.or_expr(true)?;
        self.expect(&Token::CloseBracket, "`]`")?;
        let then = if self.peek() == Some(&Token::Dot) {
            self.bump();
            let name = self.plain_name()?;
            Some(SubTest {
                name,
                test: self.test()?,
            })
        } else {
            None
        };
        Ok(Filter::ValuePath(ValuePath {
            attr: path,
            filter: Box::new(filter),
            then,
        }))
    }

    fn attr_path(&mut self) -> Result<AttrPath, ScimError> {
        match self.bump() {
            Some(Token::Word(w)) => match AttrPath::parse(&w) {
                Some(path) => Ok(path),
                None => self.fail(format!("`{w}` is not an attribute path")),
            },
            Some(t) => self.fail(format!(
                "expected an attribute path, found {}",
                describe(&t)
            )),
            None => self.fail("expected an attribute path, found the end of the filter"),
        }
    }

    fn plain_name(&mut self) -> Result<String, ScimError> {
        match self.attr_path()? {
            AttrPath {
                uri: None,
                name,
                sub_attr: None,
            } => Ok(name),
            other => self.fail(format!("expected a sub-attribute name, found `{other}`")),
        }
    }

    fn test(&mut self) -> Result<Test, ScimError> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return self.fail(format!("more than {MAX_TERMS} attribute expressions"));
        }
        let op = match self.bump() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("pr") => return Ok(Test::Present),
            Some(Token::Word(w)) => match CompareOp::parse(&w) {
                Some(op) => op,
                None => return self.fail(format!("`{w}` is not a comparison operator")),
            },
            Some(t) => return self.fail(format!("expected an operator, found {}", describe(&t))),
            None => return self.fail("expected an operator, found the end of the filter"),
        };
        let value = match self.bump() {
            Some(Token::Str(s)) => CompValue::Str(s),
            Some(Token::Num(n)) => CompValue::Number(n),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("true") => CompValue::Bool(true),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("false") => CompValue::Bool(false),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("null") => CompValue::Null,
            Some(Token::Word(w)) => {
                return self.fail(format!(
                    "string values must be quoted: found `{w}` after `{op}`"
                ));
            }
            Some(t) => {
                return self.fail(format!(
                    "expected a value after `{op}`, found {}",
                    describe(&t)
                ));
            }
            None => return self.fail(format!("expected a value after `{op}`")),
        };
        Ok(Test::Compare(op, value))
    }
}

/// `(a or b) or c` is `a or b or c`: keep chains of one operator flat so
/// equal filters have equal trees.
fn push_flat(items: &mut Vec<Filter>, filter: Filter, or: bool) {
    match filter {
        Filter::Or(inner) if or => items.extend(inner),
        Filter::And(inner) if !or => items.extend(inner),
        other => items.push(other),
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Open => "`(`".into(),
        Token::Close => "`)`".into(),
        Token::OpenBracket => "`[`".into(),
        Token::CloseBracket => "`]`".into(),
        Token::Dot => "`.`".into(),
        Token::Str(s) => format!("the string {s:?}"),
        Token::Num(n) => format!("the number {n}"),
        Token::Word(w) => format!("`{w}`"),
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.' | '$')
}

fn lex(input: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    '[' => Token::OpenBracket,
                    _ => Token::CloseBracket,
                });
            }
            '.' => {
                chars.next();
                tokens.push(Token::Dot);
            }
            '"' => {
                chars.next();
                let mut end = None;
                let mut escaped = false;
                for (i, c) in chars.by_ref() {
                    match (escaped, c) {
                        (true, _) => escaped = false,
                        (false, '\\') => escaped = true,
                        (false, '"') => {
                            end = Some(i);
                            break;
                        }
                        _ => {}
                    }
                }
                let end = end.ok_or_else(|| format!("unterminated string at byte {start}"))?;
                let literal = &input[start..=end];
                let value: String = serde_json::from_str(literal)
                    .map_err(|e| format!("invalid string literal at byte {start}: {e}"))?;
                // Written as an escape, a NUL gets past the check on the raw text; no stored
                // value holds one, and PostgreSQL cannot even compare with it.
                if value.contains('\0') {
                    return Err(format!("the string at byte {start} holds a NUL character"));
                }
                tokens.push(Token::Str(value));
            }
            '-' | '0'..='9' => {
                let mut end = start;
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.') {
                        end = i + c.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                let literal = &input[start..end];
                let number: Number = serde_json::from_str(literal)
                    .map_err(|_| format!("`{literal}` is not a number"))?;
                tokens.push(Token::Num(number));
            }
            c if c.is_ascii_alphabetic() || c == '$' || c == '_' => {
                let mut end = start;
                while let Some(&(i, c)) = chars.peek() {
                    if is_word_char(c) {
                        end = i + c.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(Token::Word(input[start..end].to_string()));
            }
            other => return Err(format!("unexpected character {other:?} at byte {start}")),
        }
    }

    // A dot right after `]` starts a sub-attribute; elsewhere dots belong to
    // words, so a lone dot token is only valid in that position.
    for pair in tokens.windows(2) {
        if pair[1] == Token::Dot && pair[0] != Token::CloseBracket {
            return Err("`.` is only allowed after `]` or inside an attribute path".into());
        }
    }
    if tokens.first() == Some(&Token::Dot) {
        return Err("a filter cannot start with `.`".into());
    }
    Ok(tokens)
}
