//! Lexer and recursive-descent parser for Traefik v3 rule text.
//!
//! Grammar (precedence `!` > `&&` > `||`):
//! ```text
//! or      := and ( "||" and )*
//! and     := unary ( "&&" unary )*
//! unary   := "!" unary | "(" or ")" | matcher
//! matcher := IDENT "(" STRING ( "," STRING )* ")"
//! STRING  := `raw` | "go-style \"escaped\""
//! ```
//! Every error carries the byte offset it was found at.

use super::RuleError;
use super::rule::{Expr, Matcher};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    LParen,
    RParen,
    Comma,
    And,
    Or,
    Not,
    End,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("identifier `{s}`"),
            Tok::Str(s) => format!("string {s:?}"),
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::Comma => "','".into(),
            Tok::And => "'&&'".into(),
            Tok::Or => "'||'".into(),
            Tok::Not => "'!'".into(),
            Tok::End => "end of rule".into(),
        }
    }
}

fn error_at(pos: usize, msg: impl std::fmt::Display) -> RuleError {
    RuleError(format!("invalid rule at position {pos}: {msg}"))
}

/// Splits rule text into `(offset, token)` pairs, ending with `Tok::End`.
fn lex(src: &str) -> Result<Vec<(usize, Tok)>, RuleError> {
    let bytes = src.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let tok = match bytes[i] {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'(' => Tok::LParen,
            b')' => Tok::RParen,
            b',' => Tok::Comma,
            b'!' => Tok::Not,
            b'&' | b'|' => lex_op(bytes, i)?,
            b'`' => {
                let (s, end) = lex_raw(src, i)?;
                i = end;
                toks.push((start, Tok::Str(s)));
                continue;
            }
            b'"' => {
                let (s, end) = lex_quoted(src, i)?;
                i = end;
                toks.push((start, Tok::Str(s)));
                continue;
            }
            c if c.is_ascii_alphabetic() => {
                let end = bytes[i..]
                    .iter()
                    .position(|b| !b.is_ascii_alphanumeric() && *b != b'_')
                    .map_or(bytes.len(), |n| i + n);
                toks.push((start, Tok::Ident(src[i..end].to_owned())));
                i = end;
                continue;
            }
            b'\'' => {
                return Err(error_at(
                    i,
                    "single quotes are not accepted; use `backticks` or \"double quotes\"",
                ));
            }
            _ => {
                let c = src[i..].chars().next().unwrap_or('?');
                return Err(error_at(i, format!("unexpected character {c:?}")));
            }
        };
        i += match tok {
            Tok::And | Tok::Or => 2,
            _ => 1,
        };
        toks.push((start, tok));
    }
    toks.push((bytes.len(), Tok::End));
    Ok(toks)
}

fn lex_op(bytes: &[u8], i: usize) -> Result<Tok, RuleError> {
    match (bytes[i], bytes.get(i + 1)) {
        (b'&', Some(b'&')) => Ok(Tok::And),
        (b'|', Some(b'|')) => Ok(Tok::Or),
        (c, _) => {
            let c = c as char;
            Err(error_at(
                i,
                format!("expected '{c}{c}', found a single '{c}'"),
            ))
        }
    }
}

/// Backtick string: no escapes, may not contain a backtick.
fn lex_raw(src: &str, open: usize) -> Result<(String, usize), RuleError> {
    match memchr::memchr(b'`', &src.as_bytes()[open + 1..]) {
        Some(n) => Ok((src[open + 1..open + 1 + n].to_owned(), open + n + 2)),
        None => Err(error_at(open, "unterminated `backtick` string")),
    }
}

/// Double-quoted string with the common Go escapes.
fn lex_quoted(src: &str, open: usize) -> Result<(String, usize), RuleError> {
    let mut out = String::new();
    let mut chars = src[open + 1..].char_indices();
    while let Some((off, c)) = chars.next() {
        match c {
            '"' => return Ok((out, open + 1 + off + 1)),
            '\\' => {
                let esc = chars.next().map(|(_, e)| e);
                out.push(match esc {
                    Some('"') => '"',
                    Some('\\') => '\\',
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some('r') => '\r',
                    _ => return Err(error_at(open + 1 + off, "unsupported escape in quoted string (supported: \\\" \\\\ \\n \\t \\r)")),
                });
            }
            _ => out.push(c),
        }
    }
    Err(error_at(open, "unterminated \"double-quoted\" string"))
}

/// Builds one matcher from its name and arguments.
type Build<'b, M> = &'b dyn Fn(&str, &[String]) -> Result<M, RuleError>;

/// Deepest nesting of `(` and `!` a rule may have.
pub const MAX_NESTING: usize = 64;
/// Most `&&`/`||` operators in one rule. Chains build left-deep trees that
/// evaluation and drop walk recursively: bounding them bounds the stack a rule
/// can take on a worker or the control thread (an unbounded rule in a reload
/// would overflow it and take the process down).
pub const MAX_OPERATORS: usize = 1000;

struct Parser<'b, M> {
    toks: Vec<(usize, Tok)>,
    at: usize,
    build: Build<'b, M>,
    depth: usize,
    operators: usize,
}

/// Parses rule text into an expression tree with compiled matchers.
pub(super) fn parse(src: &str) -> Result<Expr, RuleError> {
    parse_with(src, &Matcher::build)
}

/// The same grammar over another matcher set (TCP rules: `tcp::rule`).
pub(crate) fn parse_with<M>(src: &str, build: Build<'_, M>) -> Result<Expr<M>, RuleError> {
    if src.trim().is_empty() {
        return Err(RuleError("empty rule".into()));
    }
    let mut p = Parser {
        toks: lex(src)?,
        at: 0,
        build,
        depth: 0,
        operators: 0,
    };
    let expr = p.or()?;
    match p.peek() {
        Tok::End => Ok(expr),
        t => Err(p.unexpected(&format!(
            "'&&', '||' or end of rule, found {}",
            t.describe()
        ))),
    }
}

impl<M> Parser<'_, M> {
    fn peek(&self) -> &Tok {
        &self.toks[self.at].1
    }

    fn pos(&self) -> usize {
        self.toks[self.at].0
    }

    fn bump(&mut self) -> Tok {
        let t = self.toks[self.at].1.clone();
        if t != Tok::End {
            self.at += 1;
        }
        t
    }

    fn unexpected(&self, expected: &str) -> RuleError {
        error_at(self.pos(), format!("expected {expected}"))
    }

    fn expect(&mut self, want: Tok, ctx: &str) -> Result<(), RuleError> {
        if *self.peek() == want {
            self.bump();
            return Ok(());
        }
        let found = self.peek().describe();
        Err(self.unexpected(&format!("{} {ctx}, found {found}", want.describe())))
    }

    /// Counts one `&&`/`||` against [`MAX_OPERATORS`].
    fn operator(&mut self) -> Result<(), RuleError> {
        self.operators += 1;
        if self.operators > MAX_OPERATORS {
            return Err(error_at(
                self.pos(),
                format!("more than {MAX_OPERATORS} '&&'/'||' operators in one rule"),
            ));
        }
        self.bump();
        Ok(())
    }

    /// Enters a `(` or `!` level, bounded by [`MAX_NESTING`].
    fn nest(&mut self) -> Result<(), RuleError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(error_at(
                self.pos(),
                format!("rule nested deeper than {MAX_NESTING} levels of '(' and '!'"),
            ));
        }
        self.bump();
        Ok(())
    }

    fn or(&mut self) -> Result<Expr<M>, RuleError> {
        let mut lhs = self.and()?;
        while *self.peek() == Tok::Or {
            self.operator()?;
            lhs = Expr::Or(Box::new(lhs), Box::new(self.and()?));
        }
        Ok(lhs)
    }

    fn and(&mut self) -> Result<Expr<M>, RuleError> {
        let mut lhs = self.unary()?;
        while *self.peek() == Tok::And {
            self.operator()?;
            lhs = Expr::And(Box::new(lhs), Box::new(self.unary()?));
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr<M>, RuleError> {
        match self.peek().clone() {
            Tok::Not => {
                self.nest()?;
                let e = Expr::Not(Box::new(self.unary()?));
                self.depth -= 1;
                Ok(e)
            }
            Tok::LParen => {
                self.nest()?;
                let e = self.or()?;
                self.expect(Tok::RParen, "to close '('")?;
                self.depth -= 1;
                Ok(e)
            }
            Tok::Ident(name) => self.matcher(name),
            t => Err(self.unexpected(&format!("a matcher, '!' or '(', found {}", t.describe()))),
        }
    }

    fn matcher(&mut self, name: String) -> Result<Expr<M>, RuleError> {
        let start = self.pos();
        self.bump();
        self.expect(Tok::LParen, &format!("after `{name}`"))?;
        let mut args = Vec::new();
        loop {
            let Tok::Str(arg) = self.peek().clone() else {
                let found = self.peek().describe();
                return Err(
                    self.unexpected(&format!("a `quoted` argument for {name}, found {found}"))
                );
            };
            self.bump();
            args.push(arg);
            match self.peek() {
                Tok::Comma => self.bump(),
                Tok::RParen => {
                    self.bump();
                    break;
                }
                t => {
                    let found = t.describe();
                    return Err(
                        self.unexpected(&format!("',' or ')' in {name}(...), found {found}"))
                    );
                }
            };
        }
        let m = (self.build)(&name, &args).map_err(|e| error_at(start, e.0))?;
        Ok(Expr::Match(m))
    }
}
