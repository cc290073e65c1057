//! `retryExpression`: oxy's request predicate as Traefik documents it. The
//! functions `Attempts()` (attempts made, the first included),
//! `ResponseCode()` (the status the attempt ended with, the proxy's own 502
//! or 504 included) and `IsNetworkError()` (that status is 502 or 504), the
//! first two compared with integer literals (`==`, `!=`, `<`, `<=`, `>`,
//! `>=`), joined by `&&` and `||` (`&&` binds tighter), with parentheses.
//! Parsed when the configuration is compiled; an error names its position.

pub use crate::middleware::predicate::Cmp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    Attempts,
    ResponseCode,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    IsNetworkError,
    Compare(Value, Cmp, i64),
}

impl Expr {
    pub fn eval(&self, attempts: u32, status: u16) -> bool {
        match self {
            Expr::And(a, b) => a.eval(attempts, status) && b.eval(attempts, status),
            Expr::Or(a, b) => a.eval(attempts, status) || b.eval(attempts, status),
            Expr::IsNetworkError => matches!(status, 502 | 504),
            Expr::Compare(v, op, n) => {
                let x = match v {
                    Value::Attempts => i64::from(attempts),
                    Value::ResponseCode => i64::from(status),
                };
                op.holds(x, *n)
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Int(i64),
    Open,
    Close,
    And,
    Or,
    Cmp(Cmp),
}

/// Parses an expression; `Err` says what is wrong and at which character
/// (1-based).
pub fn parse(src: &str) -> Result<Expr, String> {
    let toks = lex(src)?;
    let mut p = Parser { toks, at: 0 };
    let e = p.or()?;
    match p.toks.get(p.at) {
        None => Ok(e),
        Some((_, pos)) => Err(format!("unexpected text at character {pos}")),
    }
}

fn lex(src: &str) -> Result<Vec<(Tok, usize)>, String> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let pos = i + 1;
        let two = b.get(i..i + 2).unwrap_or(&[]);
        let (tok, len) = match b[i] {
            c if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'(' => (Tok::Open, 1),
            b')' => (Tok::Close, 1),
            _ if two == b"&&" => (Tok::And, 2),
            _ if two == b"||" => (Tok::Or, 2),
            _ if two == b"==" => (Tok::Cmp(Cmp::Eq), 2),
            _ if two == b"!=" => (Tok::Cmp(Cmp::Ne), 2),
            _ if two == b"<=" => (Tok::Cmp(Cmp::Le), 2),
            _ if two == b">=" => (Tok::Cmp(Cmp::Ge), 2),
            b'<' => (Tok::Cmp(Cmp::Lt), 1),
            b'>' => (Tok::Cmp(Cmp::Gt), 1),
            c if c.is_ascii_digit() => {
                let end = b[i..]
                    .iter()
                    .position(|c| !c.is_ascii_digit())
                    .map_or(b.len(), |n| i + n);
                let n = src[i..end]
                    .parse()
                    .map_err(|_| format!("number too large at character {pos}"))?;
                (Tok::Int(n), end - i)
            }
            c if c.is_ascii_alphabetic() => {
                let end = b[i..]
                    .iter()
                    .position(|c| !c.is_ascii_alphanumeric())
                    .map_or(b.len(), |n| i + n);
                (Tok::Ident(src[i..end].to_string()), end - i)
            }
            _ => return Err(format!("unexpected character at character {pos}")),
        };
        out.push((tok, pos));
        i += len;
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    at: usize,
}

impl Parser {
    fn next(&mut self) -> Option<(Tok, usize)> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(t, _)| t)
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut e = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.at += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut e = self.operand()?;
        while self.peek() == Some(&Tok::And) {
            self.at += 1;
            e = Expr::And(Box::new(e), Box::new(self.operand()?));
        }
        Ok(e)
    }

    fn operand(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some((Tok::Open, _)) => {
                let e = self.or()?;
                match self.next() {
                    Some((Tok::Close, _)) => Ok(e),
                    _ => Err("missing `)`".into()),
                }
            }
            Some((Tok::Ident(name), pos)) => self.call(&name, pos),
            Some((_, pos)) => Err(format!("expected a function at character {pos}")),
            None => Err("expression ends too early".into()),
        }
    }

    /// A function call, and the comparison that must follow a value.
    fn call(&mut self, name: &str, pos: usize) -> Result<Expr, String> {
        let value = match name {
            "IsNetworkError" => None,
            "Attempts" => Some(Value::Attempts),
            "ResponseCode" => Some(Value::ResponseCode),
            _ => return Err(format!("unsupported function `{name}` at character {pos}")),
        };
        let args = (self.next(), self.next());
        if !matches!(args, (Some((Tok::Open, _)), Some((Tok::Close, _)))) {
            return Err(format!("`{name}` takes no arguments: `{name}()`"));
        }
        let Some(value) = value else {
            return Ok(Expr::IsNetworkError);
        };
        let op = match self.next() {
            Some((Tok::Cmp(op), _)) => op,
            _ => return Err(format!("`{name}()` must be compared with a number")),
        };
        match self.next() {
            Some((Tok::Int(n), _)) => Ok(Expr::Compare(value, op, n)),
            _ => Err(format!("`{name}()` must be compared with a number")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traefik_and_oxy_examples() {
        let e = parse("IsNetworkError() && Attempts() < 2").unwrap();
        assert!(e.eval(1, 502));
        assert!(e.eval(1, 504));
        assert!(!e.eval(2, 502));
        assert!(!e.eval(1, 500));
        let e = parse("Attempts() <= 2 && ResponseCode() == 502").unwrap();
        assert!(e.eval(2, 502) && !e.eval(3, 502) && !e.eval(1, 503));
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_group() {
        let e = parse("ResponseCode() == 500 || ResponseCode() == 503 && Attempts() < 2").unwrap();
        assert!(e.eval(5, 500));
        assert!(!e.eval(5, 503));
        let e =
            parse("(ResponseCode() == 500 || ResponseCode() == 503) && Attempts() < 2").unwrap();
        assert!(!e.eval(5, 500));
        assert!(e.eval(1, 503));
    }

    #[test]
    fn errors_say_what_and_where() {
        for (src, want) in [
            ("", "ends too early"),
            ("Foo()", "unsupported function `Foo` at character 1"),
            ("Attempts()", "compared with a number"),
            ("IsNetworkError(1)", "takes no arguments"),
            ("IsNetworkError() &", "unexpected character at character 18"),
            (
                "IsNetworkError() IsNetworkError()",
                "unexpected text at character 18",
            ),
            ("(IsNetworkError()", "missing `)`"),
        ] {
            let err = parse(src).unwrap_err();
            assert!(err.contains(want), "{src}: {err}");
        }
    }
}
