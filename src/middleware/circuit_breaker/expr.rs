//! The breaker's condition, in the grammar Traefik takes from
//! vulcand/predicate (a subset of Go expressions): metric calls compared with
//! literals, joined by `&&` and `||` (Go precedence: `&&` binds tighter),
//! with parentheses. As there, a metric is always on the left, float metrics
//! (`NetworkErrorRatio()`, `ResponseCodeRatio(a, b, c, d)`) compare with
//! float literals (`0.5`) and integer ones (`LatencyAtQuantileMS(q)`,
//! `RequestThreshold()`) with integer literals. Parsed when the
//! configuration is compiled; an error names its position.

use super::metrics::Window;
pub use crate::middleware::predicate::Cmp;

#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    NetworkErrorRatio,
    ResponseCodeRatio(u16, u16, u16, u16),
    /// A quantile in percent.
    LatencyAtQuantileMs(f64),
    RequestThreshold,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Compare(Metric, Cmp, f64),
}

impl Expr {
    pub fn eval(&self, w: &Window) -> bool {
        match self {
            Expr::And(a, b) => a.eval(w) && b.eval(w),
            Expr::Or(a, b) => a.eval(w) || b.eval(w),
            Expr::Compare(m, op, v) => {
                let x = match m {
                    Metric::NetworkErrorRatio => w.network_error_ratio(),
                    Metric::ResponseCodeRatio(a, b, c, d) => w.response_code_ratio(*a, *b, *c, *d),
                    Metric::LatencyAtQuantileMs(q) => w.latency_at_quantile_ms(*q) as f64,
                    Metric::RequestThreshold => w.total() as f64,
                };
                op.holds(x, *v)
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Int(i64),
    Float(f64),
    Open,
    Close,
    Comma,
    And,
    Or,
    Cmp(Cmp),
}

/// Parses an expression; `Err` says what is wrong and at which character
/// (1-based).
pub fn parse(src: &str) -> Result<Expr, String> {
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        at: 0,
        len: src.chars().count(),
    };
    let e = p.or()?;
    match p.toks.get(p.at) {
        None => Ok(e),
        Some((_, pos)) => Err(format!(
            "position {pos}: unexpected text after the expression"
        )),
    }
}

fn lex(src: &str) -> Result<Vec<(Tok, usize)>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let pos = i + 1;
        let two = |s: &str| chars[i..].iter().take(2).collect::<String>() == s;
        let (tok, n) = match c {
            ' ' | '\t' | '\n' | '\r' => {
                i += 1;
                continue;
            }
            '(' => (Tok::Open, 1),
            ')' => (Tok::Close, 1),
            ',' => (Tok::Comma, 1),
            '&' if two("&&") => (Tok::And, 2),
            '|' if two("||") => (Tok::Or, 2),
            '=' if two("==") => (Tok::Cmp(Cmp::Eq), 2),
            '!' if two("!=") => (Tok::Cmp(Cmp::Ne), 2),
            '<' if two("<=") => (Tok::Cmp(Cmp::Le), 2),
            '>' if two(">=") => (Tok::Cmp(Cmp::Ge), 2),
            '<' => (Tok::Cmp(Cmp::Lt), 1),
            '>' => (Tok::Cmp(Cmp::Gt), 1),
            c if c.is_ascii_alphabetic() || c == '_' => {
                let n = chars[i..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                    .count();
                (Tok::Ident(chars[i..i + n].iter().collect()), n)
            }
            c if c.is_ascii_digit() || c == '.' => {
                let n = chars[i..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == '.')
                    .count();
                let text: String = chars[i..i + n].iter().collect();
                let tok = if text.contains(['.', 'e', 'E']) {
                    text.parse().map(Tok::Float).ok()
                } else {
                    text.parse().map(Tok::Int).ok()
                };
                (
                    tok.ok_or(format!("position {pos}: {text:?} is not a number"))?,
                    n,
                )
            }
            c => return Err(format!("position {pos}: unexpected {c:?}")),
        };
        out.push((tok, pos));
        i += n;
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    at: usize,
    /// Characters in the source, for "position" at the end.
    len: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(t, _)| t)
    }

    fn pos(&self) -> usize {
        self.toks.get(self.at).map_or(self.len + 1, |(_, p)| *p)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).map(|(t, _)| t.clone());
        self.at += 1;
        t
    }

    fn expect(&mut self, want: Tok, what: &str) -> Result<(), String> {
        let pos = self.pos();
        match self.next() {
            Some(t) if t == want => Ok(()),
            _ => Err(format!("position {pos}: expected {what}")),
        }
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
        if self.peek() == Some(&Tok::Open) {
            self.at += 1;
            let e = self.or()?;
            self.expect(Tok::Close, "`)`")?;
            return Ok(e);
        }
        let pos = self.pos();
        let (metric, float) = self.metric()?;
        let op = match self.next() {
            Some(Tok::Cmp(op)) => op,
            _ => {
                return Err(format!(
                    "position {}: expected a comparison (==, !=, <, <=, >, >=) after the function",
                    self.toks.get(self.at - 1).map_or(self.len + 1, |(_, p)| *p)
                ));
            }
        };
        let vpos = self.pos();
        let value = match (self.next(), float) {
            (Some(Tok::Float(v)), true) => v,
            (Some(Tok::Int(v)), false) => v as f64,
            (Some(Tok::Int(_)), true) => {
                return Err(format!(
                    "position {vpos}: expected a float (e.g. 0.5): the function at position {pos} is a ratio"
                ));
            }
            (Some(Tok::Float(_)), false) => {
                return Err(format!(
                    "position {vpos}: expected an integer: the function at position {pos} counts"
                ));
            }
            _ => return Err(format!("position {vpos}: expected a number")),
        };
        Ok(Expr::Compare(metric, op, value))
    }

    /// A metric call; `true` when it is a ratio (compared with floats).
    fn metric(&mut self) -> Result<(Metric, bool), String> {
        let pos = self.pos();
        let Some(Tok::Ident(name)) = self.next() else {
            return Err(format!(
                "position {pos}: expected a function (NetworkErrorRatio, ResponseCodeRatio, LatencyAtQuantileMS, RequestThreshold)"
            ));
        };
        self.expect(Tok::Open, "`(`")?;
        let mut args = Vec::new();
        while self.peek() != Some(&Tok::Close) {
            if !args.is_empty() {
                self.expect(Tok::Comma, "`,` or `)`")?;
            }
            let apos = self.pos();
            match self.next() {
                Some(Tok::Int(v)) => args.push((v as f64, false, apos)),
                Some(Tok::Float(v)) => args.push((v, true, apos)),
                _ => return Err(format!("position {apos}: expected a number")),
            }
        }
        self.at += 1;
        let ints = |n: usize| -> Result<Vec<u16>, String> {
            if args.len() != n {
                return Err(format!(
                    "position {pos}: {name} takes {n} arguments, not {}",
                    args.len()
                ));
            }
            args.iter()
                .map(|&(v, float, p)| match float {
                    false if (0.0..=65535.0).contains(&v) => Ok(v as u16),
                    _ => Err(format!("position {p}: expected a status code")),
                })
                .collect()
        };
        Ok(match name.as_str() {
            "NetworkErrorRatio" => (ints(0).map(|_| Metric::NetworkErrorRatio)?, true),
            "RequestThreshold" => (ints(0).map(|_| Metric::RequestThreshold)?, false),
            "ResponseCodeRatio" => {
                let a = ints(4)?;
                (Metric::ResponseCodeRatio(a[0], a[1], a[2], a[3]), true)
            }
            "LatencyAtQuantileMS" => match args.as_slice() {
                [(q, true, _)] => (Metric::LatencyAtQuantileMs(*q), false),
                [(_, false, p)] => {
                    return Err(format!("position {p}: the quantile is a float (e.g. 50.0)"));
                }
                _ => {
                    return Err(format!(
                        "position {pos}: LatencyAtQuantileMS takes 1 argument"
                    ));
                }
            },
            other => return Err(format!("position {pos}: unknown function {other:?}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traefik_examples_parse_with_go_precedence() {
        assert_eq!(
            parse("NetworkErrorRatio() > 0.5").unwrap(),
            Expr::Compare(Metric::NetworkErrorRatio, Cmp::Gt, 0.5)
        );
        let e = parse(
            "ResponseCodeRatio(500, 600, 0, 600) > 0.25 || LatencyAtQuantileMS(50.0) > 100 && RequestThreshold() >= 10",
        )
        .unwrap();
        let Expr::Or(_, right) = e else {
            panic!("|| is the outer operator: {e:?}")
        };
        assert!(matches!(*right, Expr::And(..)));
        assert!(parse("(NetworkErrorRatio() > 0.5)").is_ok());
    }

    #[test]
    fn errors_say_where() {
        for (src, why) in [
            ("NetworkErrorRatio() > 1", "position 23: expected a float"),
            (
                "LatencyAtQuantileMS(50) > 100",
                "position 21: the quantile is a float",
            ),
            ("Bogus() > 1", "position 1: unknown function"),
            (
                "NetworkErrorRatio() > 0.5 &&",
                "position 29: expected a function",
            ),
            ("NetworkErrorRatio() = 0.5", "position 21: unexpected '='"),
            ("ResponseCodeRatio(500, 600) > 0.5", "takes 4 arguments"),
        ] {
            let e = parse(src).unwrap_err();
            assert!(e.contains(why), "{src}: {e}");
        }
    }
}
