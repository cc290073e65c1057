//! `retryExpression`: oxy's request predicate as Traefik documents it. The
//! functions `Attempts()` (attempts made, the first included),
//! `ResponseCode()` (the status the attempt ended with, the proxy's own 502
//! or 504 included) and `IsNetworkError()` (that status is 502 or 504), the
//! first two compared with integer literals (`==`, `!=`, `<`, `<=`, `>`,
//! `>=`), joined by `&&` and `||` (`&&` binds tighter), with parentheses
//! (the shared grammar: `middleware::predicate`). Parsed when the
//! configuration is compiled; an error names its position.

pub use crate::middleware::predicate::Cmp;
use crate::middleware::predicate::{self, Num, Parser};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    Attempts,
    ResponseCode,
}

/// One operand of the expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaf {
    IsNetworkError,
    Compare(Value, Cmp, i64),
}

pub type Expr = predicate::Expr<Leaf>;

impl Expr {
    pub fn eval(&self, attempts: u32, status: u16) -> bool {
        self.holds(&|leaf: &Leaf| match *leaf {
            Leaf::IsNetworkError => matches!(status, 502 | 504),
            Leaf::Compare(v, op, n) => {
                let x = match v {
                    Value::Attempts => i64::from(attempts),
                    Value::ResponseCode => i64::from(status),
                };
                op.holds(x, n)
            }
        })
    }
}

const FUNCTIONS: &str = "IsNetworkError, Attempts, ResponseCode";

/// Parses an expression; `Err` says what is wrong and at which character
/// (1-based).
pub fn parse(src: &str) -> Result<Expr, String> {
    predicate::parse(src, leaf)
}

/// A function call, and the comparison that must follow a value.
fn leaf(p: &mut Parser) -> Result<Leaf, String> {
    let call = p.call(FUNCTIONS)?;
    let value = match call.name.as_str() {
        "IsNetworkError" => None,
        "Attempts" => Some(Value::Attempts),
        "ResponseCode" => Some(Value::ResponseCode),
        name => {
            return Err(format!(
                "position {}: unknown function {name:?} (expected {FUNCTIONS})",
                call.pos
            ));
        }
    };
    call.arity(0)?;
    let Some(value) = value else {
        return Ok(Leaf::IsNetworkError);
    };
    match p.comparison(&call)? {
        (op, Num::Int(n), _) => Ok(Leaf::Compare(value, op, n)),
        (_, Num::Float(_), pos) => Err(format!(
            "position {pos}: expected an integer: `{}()` counts",
            call.name
        )),
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
            (
                "",
                "position 1: expected a function (IsNetworkError, Attempts, ResponseCode), found the end",
            ),
            ("Foo()", "position 1: unknown function \"Foo\""),
            (
                "Attempts()",
                "position 11: expected a comparison (==, !=, <, <=, >, >=) after `Attempts()`",
            ),
            ("Attempts() < 1.5", "position 14: expected an integer"),
            (
                "IsNetworkError(1)",
                "position 1: IsNetworkError takes no arguments, not 1",
            ),
            ("IsNetworkError() &", "position 18: unexpected '&'"),
            (
                "IsNetworkError() IsNetworkError()",
                "position 18: unexpected text after the expression",
            ),
            (
                "(IsNetworkError()",
                "position 18: expected `)`, found the end",
            ),
        ] {
            let err = parse(src).unwrap_err();
            assert!(err.contains(want), "{src}: {err}");
        }
    }
}
