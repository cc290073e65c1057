//! The breaker's condition, in the grammar Traefik takes from
//! vulcand/predicate (a subset of Go expressions, the shared grammar of
//! `middleware::predicate`): metric calls compared with literals, joined by
//! `&&` and `||` (Go precedence: `&&` binds tighter), with parentheses. As
//! there, a metric is always on the left, float metrics
//! (`NetworkErrorRatio()`, `ResponseCodeRatio(a, b, c, d)`) compare with
//! float literals (`0.5`) and integer ones (`LatencyAtQuantileMS(q)`,
//! `RequestThreshold()`) with integer literals. Parsed when the
//! configuration is compiled; an error names its position.

use super::metrics::Window;
pub use crate::middleware::predicate::Cmp;
use crate::middleware::predicate::{self, Call, Num, Parser};

#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    NetworkErrorRatio,
    ResponseCodeRatio(u16, u16, u16, u16),
    /// A quantile in percent.
    LatencyAtQuantileMs(f64),
    RequestThreshold,
}

/// One operand: a metric compared with a literal.
#[derive(Debug, Clone, PartialEq)]
pub struct Compare(pub Metric, pub Cmp, pub f64);

pub type Expr = predicate::Expr<Compare>;

impl Expr {
    pub fn eval(&self, w: &Window) -> bool {
        self.holds(&|Compare(m, op, v): &Compare| {
            let x = match m {
                Metric::NetworkErrorRatio => w.network_error_ratio(),
                Metric::ResponseCodeRatio(a, b, c, d) => w.response_code_ratio(*a, *b, *c, *d),
                Metric::LatencyAtQuantileMs(q) => w.latency_at_quantile_ms(*q) as f64,
                Metric::RequestThreshold => w.total() as f64,
            };
            op.holds(x, *v)
        })
    }
}

const FUNCTIONS: &str =
    "NetworkErrorRatio, ResponseCodeRatio, LatencyAtQuantileMS, RequestThreshold";

/// Parses an expression; `Err` says what is wrong and at which character
/// (1-based).
pub fn parse(src: &str) -> Result<Expr, String> {
    predicate::parse(src, leaf)
}

/// A metric call compared with a literal of its kind.
fn leaf(p: &mut Parser) -> Result<Compare, String> {
    let call = p.call(FUNCTIONS)?;
    let (metric, ratio) = metric(&call)?;
    let value = match p.comparison(&call)? {
        (op, Num::Float(v), _) if ratio => (op, v),
        (op, Num::Int(v), _) if !ratio => (op, v as f64),
        (_, Num::Int(_), vpos) => {
            return Err(format!(
                "position {vpos}: expected a float (e.g. 0.5): the function at position {} is a ratio",
                call.pos
            ));
        }
        (_, Num::Float(_), vpos) => {
            return Err(format!(
                "position {vpos}: expected an integer: the function at position {} counts",
                call.pos
            ));
        }
    };
    Ok(Compare(metric, value.0, value.1))
}

/// The metric `call` names; `true` when it is a ratio (compared with floats).
fn metric(call: &Call) -> Result<(Metric, bool), String> {
    let codes = || -> Result<Vec<u16>, String> {
        call.arity(4)?;
        call.args
            .iter()
            .map(|&(v, p)| match v {
                Num::Int(v) if (0..=65535).contains(&v) => Ok(v as u16),
                _ => Err(format!("position {p}: expected a status code")),
            })
            .collect()
    };
    Ok(match call.name.as_str() {
        "NetworkErrorRatio" => (call.arity(0).map(|_| Metric::NetworkErrorRatio)?, true),
        "RequestThreshold" => (call.arity(0).map(|_| Metric::RequestThreshold)?, false),
        "ResponseCodeRatio" => {
            let a = codes()?;
            (Metric::ResponseCodeRatio(a[0], a[1], a[2], a[3]), true)
        }
        "LatencyAtQuantileMS" => {
            call.arity(1)?;
            match call.args[0] {
                (Num::Float(q), _) => (Metric::LatencyAtQuantileMs(q), false),
                (Num::Int(_), p) => {
                    return Err(format!("position {p}: the quantile is a float (e.g. 50.0)"));
                }
            }
        }
        other => {
            return Err(format!(
                "position {}: unknown function {other:?} (expected {FUNCTIONS})",
                call.pos
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traefik_examples_parse_with_go_precedence() {
        assert_eq!(
            parse("NetworkErrorRatio() > 0.5").unwrap(),
            Expr::Leaf(Compare(Metric::NetworkErrorRatio, Cmp::Gt, 0.5))
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
