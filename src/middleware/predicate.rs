//! The predicate language the two oxy/vulcand expressions Traefik exposes
//! share (buffering's `retryExpression`, the circuit breaker's
//! `expression`): one lexer and one parser of function calls compared with
//! numbers, joined by `&&` and `||` (Go precedence: `&&` binds tighter), with
//! parentheses. What a leaf may be (which functions, which arguments, which
//! literals) is the caller's: [`parse`] hands the parser to its leaf callback
//! at each operand, which reads it with [`Parser::call`] and
//! [`Parser::comparison`]. Errors name their 1-based character position.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    /// `x <op> y`.
    pub fn holds<T: PartialOrd>(self, x: T, y: T) -> bool {
        match self {
            Cmp::Eq => x == y,
            Cmp::Ne => x != y,
            Cmp::Lt => x < y,
            Cmp::Le => x <= y,
            Cmp::Gt => x > y,
            Cmp::Ge => x >= y,
        }
    }
}

/// A parsed expression over leaves `L`.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr<L> {
    And(Box<Expr<L>>, Box<Expr<L>>),
    Or(Box<Expr<L>>, Box<Expr<L>>),
    Leaf(L),
}

impl<L> Expr<L> {
    /// Evaluates the expression, `leaf` deciding each leaf (short-circuit,
    /// as Go's `&&` and `||`).
    pub fn holds(&self, leaf: &impl Fn(&L) -> bool) -> bool {
        match self {
            Expr::And(a, b) => a.holds(leaf) && b.holds(leaf),
            Expr::Or(a, b) => a.holds(leaf) || b.holds(leaf),
            Expr::Leaf(l) => leaf(l),
        }
    }
}

/// A number literal: integer unless it has a `.` or an exponent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Num(Num),
    Open,
    Close,
    Comma,
    And,
    Or,
    Cmp(Cmp),
}

/// A function call: its name, arguments and positions.
pub struct Call {
    pub name: String,
    pub pos: usize,
    /// Each argument with its position.
    pub args: Vec<(Num, usize)>,
}

impl Call {
    /// Refuses any other number of arguments than `n`.
    pub fn arity(&self, n: usize) -> Result<(), String> {
        if self.args.len() == n {
            return Ok(());
        }
        let takes = match n {
            0 => "no arguments".to_string(),
            1 => "1 argument".to_string(),
            n => format!("{n} arguments"),
        };
        Err(format!(
            "position {}: {} takes {takes}, not {}",
            self.pos,
            self.name,
            self.args.len()
        ))
    }
}

/// Parses `src`; `leaf` reads one operand (no parenthesis, no operator).
pub fn parse<L>(
    src: &str,
    mut leaf: impl FnMut(&mut Parser) -> Result<L, String>,
) -> Result<Expr<L>, String> {
    let mut p = Parser {
        toks: lex(src)?,
        at: 0,
        len: src.chars().count(),
    };
    let e = p.or(&mut leaf)?;
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
        let pos = i + 1;
        let two = |s: &str| chars[i..].iter().take(2).copied().eq(s.chars());
        let run = |ok: fn(char) -> bool| chars[i..].iter().take_while(|c| ok(**c)).count();
        let (tok, n) = match chars[i] {
            c if c.is_whitespace() => {
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
                let n = run(|c| c.is_ascii_alphanumeric() || c == '_');
                (Tok::Ident(chars[i..i + n].iter().collect()), n)
            }
            c if c.is_ascii_digit() || c == '.' => {
                let n = run(|c| c.is_ascii_alphanumeric() || c == '.');
                let text: String = chars[i..i + n].iter().collect();
                let num = match text.contains(['.', 'e', 'E']) {
                    true => text.parse().map(Num::Float).ok(),
                    false => text.parse().map(Num::Int).ok(),
                };
                let num = num.ok_or(format!("position {pos}: {text:?} is not a number"))?;
                (Tok::Num(num), n)
            }
            c => return Err(format!("position {pos}: unexpected {c:?}")),
        };
        out.push((tok, pos));
        i += n;
    }
    Ok(out)
}

/// The token stream, as the leaf callback reads it.
pub struct Parser {
    toks: Vec<(Tok, usize)>,
    at: usize,
    /// Characters in the source, for the position of its end.
    len: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(t, _)| t)
    }

    /// The position of the next token (past the end: the end's).
    fn pos(&self) -> usize {
        self.toks.get(self.at).map_or(self.len + 1, |(_, p)| *p)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.peek().cloned();
        self.at += 1;
        t
    }

    /// "position N: expected <what>", and "found the end" when it is.
    fn expected(&self, pos: usize, what: &str) -> String {
        match pos > self.len {
            true => format!("position {pos}: expected {what}, found the end"),
            false => format!("position {pos}: expected {what}"),
        }
    }

    fn expect(&mut self, want: Tok, what: &str) -> Result<(), String> {
        let pos = self.pos();
        match self.next() {
            Some(t) if t == want => Ok(()),
            _ => Err(self.expected(pos, what)),
        }
    }

    fn or<L>(&mut self, leaf: &mut impl FnMut(&mut Parser) -> Result<L, String>) -> PResult<L> {
        let mut e = self.and(leaf)?;
        while self.peek() == Some(&Tok::Or) {
            self.at += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and(leaf)?));
        }
        Ok(e)
    }

    fn and<L>(&mut self, leaf: &mut impl FnMut(&mut Parser) -> Result<L, String>) -> PResult<L> {
        let mut e = self.operand(leaf)?;
        while self.peek() == Some(&Tok::And) {
            self.at += 1;
            e = Expr::And(Box::new(e), Box::new(self.operand(leaf)?));
        }
        Ok(e)
    }

    fn operand<L>(
        &mut self,
        leaf: &mut impl FnMut(&mut Parser) -> Result<L, String>,
    ) -> PResult<L> {
        if self.peek() == Some(&Tok::Open) {
            self.at += 1;
            let e = self.or(leaf)?;
            self.expect(Tok::Close, "`)`")?;
            return Ok(e);
        }
        leaf(self).map(Expr::Leaf)
    }

    /// A function call `Name(args…)`; `functions` lists the known names for
    /// the error when there is none.
    pub fn call(&mut self, functions: &str) -> Result<Call, String> {
        let pos = self.pos();
        let Some(Tok::Ident(name)) = self.next() else {
            return Err(self.expected(pos, &format!("a function ({functions})")));
        };
        self.expect(Tok::Open, "`(`")?;
        let mut args = Vec::new();
        while self.peek() != Some(&Tok::Close) {
            if !args.is_empty() {
                self.expect(Tok::Comma, "`,` or `)`")?;
            }
            let apos = self.pos();
            match self.next() {
                Some(Tok::Num(n)) => args.push((n, apos)),
                _ => return Err(self.expected(apos, "a number")),
            }
        }
        self.at += 1;
        Ok(Call { name, pos, args })
    }

    /// The comparison after `call`: its operator, and the number with its
    /// position.
    pub fn comparison(&mut self, call: &Call) -> Result<(Cmp, Num, usize), String> {
        let pos = self.pos();
        let Some(Tok::Cmp(op)) = self.next() else {
            let what = format!(
                "a comparison (==, !=, <, <=, >, >=) after `{}()`",
                call.name
            );
            return Err(self.expected(pos, &what));
        };
        let vpos = self.pos();
        match self.next() {
            Some(Tok::Num(n)) => Ok((op, n, vpos)),
            _ => Err(self.expected(vpos, "a number")),
        }
    }
}

type PResult<L> = Result<Expr<L>, String>;

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy dialect: `F(args…) <op> number`, the leaf being the number.
    fn toy(src: &str) -> Result<Expr<Num>, String> {
        parse(src, |p| {
            let call = p.call("F")?;
            p.comparison(&call).map(|(_, n, _)| n)
        })
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_group() {
        let e = toy("F() > 1 || F() > 2 && F() > 3").unwrap();
        assert!(matches!(&e, Expr::Or(_, r) if matches!(**r, Expr::And(..))));
        let e = toy("(F() > 1 || F() > 2) && F() > 3.5").unwrap();
        let Expr::And(_, r) = e else {
            panic!("&& is outer")
        };
        assert_eq!(*r, Expr::Leaf(Num::Float(3.5)));
    }

    #[test]
    fn errors_name_the_position_and_the_reason() {
        for (src, want) in [
            ("", "position 1: expected a function (F), found the end"),
            ("F(", "position 3: expected a number, found the end"),
            ("F(1 2) > 1", "position 5: expected `,` or `)`"),
            (
                "F() 1",
                "position 5: expected a comparison (==, !=, <, <=, >, >=) after `F()`",
            ),
            ("F() > x", "position 7: expected a number"),
            ("F() > 1 &", "position 9: unexpected '&'"),
            (
                "F() > 1 F()",
                "position 9: unexpected text after the expression",
            ),
            ("(F() > 1", "position 9: expected `)`, found the end"),
            ("F() > 1x", "position 7: \"1x\" is not a number"),
            ("F() > 99999999999999999999", "is not a number"),
        ] {
            let err = toy(src).unwrap_err();
            assert!(err.contains(want), "{src:?}: {err}");
        }
    }
}
