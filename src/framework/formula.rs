//! The formula language of derived indicators (`formula = "rd_expenditure / gdp * 100"`).
//!
//! Owns: a small hand-written recursive-descent parser (numbers, identifiers `[a-z][a-z0-9_]*`,
//! `+ - * /`, unary minus, parentheses) → [`FormulaExpr`] → a polars [`Expr`]. Must not: know
//! which identifiers exist (the framework validator resolves them) or touch any data.
//!
//! Grammar (usual precedence, left-associative):
//! ```text
//! expr    := term (('+' | '-') term)*
//! term    := unary (('*' | '/') unary)*
//! unary   := '-' unary | primary
//! primary := number | identifier | '(' expr ')'
//! number  := digits ['.' digits] [('e' | 'E') ['+' | '-'] digits]
//! ```
//! The typographic minus `−` (U+2212) is accepted as `-`, because formulas are often copied from
//! papers.
//!
//! Bounded input: a formula is at most [`MAX_FORMULA_LEN`] bytes and nests parentheses and unary
//! minus at most [`MAX_DEPTH`] deep, so that neither the recursive descent nor the recursive
//! walks over the tree can exhaust the stack (a framework file is user input on the web).

use std::fmt;

use polars::prelude::{Expr, lit};

/// Longest formula accepted, in bytes (the longest formula of a real framework is ~60).
pub const MAX_FORMULA_LEN: usize = 4096;

/// Deepest nesting of parentheses and unary minus accepted.
pub const MAX_DEPTH: usize = 64;

/// A binary arithmetic operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
}

impl BinOp {
    fn symbol(self) -> char {
        match self {
            BinOp::Add => '+',
            BinOp::Sub => '-',
            BinOp::Mul => '*',
            BinOp::Div => '/',
        }
    }
}

/// The syntax tree of a formula.
#[derive(Debug, Clone, PartialEq)]
pub enum FormulaExpr {
    Number(f64),
    Ident(String),
    Neg(Box<FormulaExpr>),
    Binary {
        op: BinOp,
        lhs: Box<FormulaExpr>,
        rhs: Box<FormulaExpr>,
    },
}

impl FormulaExpr {
    /// Translate to a polars expression; `resolve` turns an identifier into the expression that
    /// computes it (a column, or another indicator's inlined formula).
    pub fn to_expr(&self, resolve: &mut dyn FnMut(&str) -> Expr) -> Expr {
        match self {
            FormulaExpr::Number(x) => lit(*x),
            FormulaExpr::Ident(name) => resolve(name),
            FormulaExpr::Neg(inner) => lit(-1.0) * inner.to_expr(resolve),
            FormulaExpr::Binary { op, lhs, rhs } => {
                let (l, r) = (lhs.to_expr(resolve), rhs.to_expr(resolve));
                match op {
                    BinOp::Add => l + r,
                    BinOp::Sub => l - r,
                    BinOp::Mul => l * r,
                    BinOp::Div => l / r,
                }
            }
        }
    }

    /// Identifiers in order of first appearance, without repeats.
    pub fn identifiers(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.walk(&mut |e| {
            if let FormulaExpr::Ident(name) = e
                && !out.contains(&name.as_str())
            {
                out.push(name.as_str());
            }
        });
        out
    }

    /// The right-hand side of every division, outermost first.
    pub fn denominators(&self) -> Vec<&FormulaExpr> {
        let mut out = Vec::new();
        self.walk(&mut |e| {
            if let FormulaExpr::Binary {
                op: BinOp::Div,
                rhs,
                ..
            } = e
            {
                out.push(rhs.as_ref());
            }
        });
        out
    }

    fn walk<'a>(&'a self, visit: &mut dyn FnMut(&'a FormulaExpr)) {
        visit(self);
        match self {
            FormulaExpr::Number(_) | FormulaExpr::Ident(_) => {}
            FormulaExpr::Neg(inner) => inner.walk(visit),
            FormulaExpr::Binary { lhs, rhs, .. } => {
                lhs.walk(visit);
                rhs.walk(visit);
            }
        }
    }

    fn precedence(&self) -> u8 {
        match self {
            FormulaExpr::Binary {
                op: BinOp::Add | BinOp::Sub,
                ..
            } => 1,
            FormulaExpr::Binary { .. } => 2,
            FormulaExpr::Neg(_) => 3,
            FormulaExpr::Number(_) | FormulaExpr::Ident(_) => 4,
        }
    }
}

/// Canonical text with only the parentheses the grammar needs (used in error messages and to
/// show a denominator).
impl fmt::Display for FormulaExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormulaExpr::Number(x) => write!(f, "{x}"),
            FormulaExpr::Ident(name) => f.write_str(name),
            FormulaExpr::Neg(inner) => {
                if inner.precedence() < 3 {
                    write!(f, "-({inner})")
                } else {
                    write!(f, "-{inner}")
                }
            }
            FormulaExpr::Binary { op, lhs, rhs } => {
                let prec = self.precedence();
                if lhs.precedence() < prec {
                    write!(f, "({lhs})")?;
                } else {
                    write!(f, "{lhs}")?;
                }
                write!(f, " {} ", op.symbol())?;
                // Left-associative: an equal-precedence right operand needs parentheses
                // (`a - (b - c)`, `a / (b * c)`).
                if rhs.precedence() <= prec {
                    write!(f, "({rhs})")
                } else {
                    write!(f, "{rhs}")
                }
            }
        }
    }
}

/// A parsed formula: the text as written plus its syntax tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Formula {
    source: String,
    expr: FormulaExpr,
}

impl Formula {
    pub fn parse(source: &str) -> Result<Formula, FormulaSyntaxError> {
        if source.len() > MAX_FORMULA_LEN {
            return Err(FormulaSyntaxError {
                column: source
                    .char_indices()
                    .take_while(|&(at, _)| at < MAX_FORMULA_LEN)
                    .count()
                    + 1,
                message: format!(
                    "the formula is {} bytes long; the limit is {MAX_FORMULA_LEN}",
                    source.len()
                ),
            });
        }
        let tokens = tokenize(source)?;
        let mut parser = Parser {
            tokens: &tokens,
            pos: 0,
            depth: 0,
            end_column: source.chars().count() + 1,
        };
        if tokens.is_empty() {
            return Err(FormulaSyntaxError {
                column: 1,
                message: "the formula is empty".into(),
            });
        }
        let expr = parser.expr()?;
        if let Some(tok) = parser.peek() {
            let message = match tok.kind {
                TokenKind::RParen => "unmatched ')'".to_string(),
                _ => format!("expected an operator, found {}", tok.kind.describe()),
            };
            return Err(FormulaSyntaxError {
                column: tok.column,
                message,
            });
        }
        Ok(Formula {
            source: source.to_string(),
            expr,
        })
    }

    /// The formula exactly as written in the framework file.
    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn expr(&self) -> &FormulaExpr {
        &self.expr
    }

    /// Identifiers in order of first appearance, without repeats.
    pub fn identifiers(&self) -> Vec<&str> {
        self.expr.identifiers()
    }
}

impl fmt::Display for Formula {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl serde::Serialize for Formula {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

/// A syntax error; `column` is 1-based and counts characters of the formula text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct FormulaSyntaxError {
    pub column: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum TokenKind {
    Number(f64),
    Ident(String),
    Op(BinOp),
    LParen,
    RParen,
}

impl TokenKind {
    fn describe(&self) -> String {
        match self {
            TokenKind::Number(x) => format!("number {x}"),
            TokenKind::Ident(name) => format!("identifier '{name}'"),
            TokenKind::Op(op) => format!("'{}'", op.symbol()),
            TokenKind::LParen => "'('".into(),
            TokenKind::RParen => "')'".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Token {
    kind: TokenKind,
    column: usize,
}

fn tokenize(source: &str) -> Result<Vec<Token>, FormulaSyntaxError> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        let single = match c {
            '+' => Some(TokenKind::Op(BinOp::Add)),
            '-' | '\u{2212}' => Some(TokenKind::Op(BinOp::Sub)),
            '*' => Some(TokenKind::Op(BinOp::Mul)),
            '/' => Some(TokenKind::Op(BinOp::Div)),
            '(' => Some(TokenKind::LParen),
            ')' => Some(TokenKind::RParen),
            _ => None,
        };
        if let Some(kind) = single {
            tokens.push(Token { kind, column });
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            let (value, next) = number(&chars, i)?;
            tokens.push(Token {
                kind: TokenKind::Number(value),
                column,
            });
            i = next;
        } else if c.is_ascii_lowercase() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_lowercase() || chars[i].is_ascii_digit() || chars[i] == '_')
            {
                i += 1;
            }
            if i < chars.len() && chars[i].is_ascii_uppercase() {
                return Err(FormulaSyntaxError {
                    column: i + 1,
                    message: format!(
                        "upper-case '{}' in an identifier (identifiers are [a-z][a-z0-9_]*)",
                        chars[i]
                    ),
                });
            }
            tokens.push(Token {
                kind: TokenKind::Ident(chars[start..i].iter().collect()),
                column,
            });
        } else if c.is_ascii_uppercase() || c == '_' {
            return Err(FormulaSyntaxError {
                column,
                message: format!(
                    "identifiers start with a lower-case letter (found '{c}'; identifiers are [a-z][a-z0-9_]*)"
                ),
            });
        } else {
            return Err(FormulaSyntaxError {
                column,
                message: format!("unexpected character '{c}'"),
            });
        }
    }
    Ok(tokens)
}

/// Scan a number starting at `start`; returns its value and the index after it.
fn number(chars: &[char], start: usize) -> Result<(f64, usize), FormulaSyntaxError> {
    let mut i = start;
    let digits = |i: &mut usize| {
        let from = *i;
        while *i < chars.len() && chars[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - from
    };
    let int_digits = digits(&mut i);
    let mut frac_digits = 0;
    if i < chars.len() && chars[i] == '.' {
        i += 1;
        frac_digits = digits(&mut i);
    }
    if int_digits + frac_digits == 0 {
        return Err(FormulaSyntaxError {
            column: start + 1,
            message: "a number needs at least one digit".into(),
        });
    }
    if i < chars.len() && matches!(chars[i], 'e' | 'E') {
        let exp_column = i + 1;
        i += 1;
        if i < chars.len() && matches!(chars[i], '+' | '-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return Err(FormulaSyntaxError {
                column: exp_column,
                message: "an exponent needs digits (e.g. 1e4)".into(),
            });
        }
    }
    let text: String = chars[start..i].iter().collect();
    let value = text.parse::<f64>().map_err(|_| FormulaSyntaxError {
        column: start + 1,
        message: format!("'{text}' is not a number"),
    })?;
    // `1e999` parses to infinity, which no formula means (and which prints as `inf`).
    if !value.is_finite() {
        return Err(FormulaSyntaxError {
            column: start + 1,
            message: format!("the number {text} is too large"),
        });
    }
    if i < chars.len() && (chars[i].is_ascii_alphabetic() || chars[i] == '_') {
        return Err(FormulaSyntaxError {
            column: i + 1,
            message: format!("unexpected '{}' right after the number {text}", chars[i]),
        });
    }
    Ok((value, i))
}

struct Parser<'t> {
    tokens: &'t [Token],
    pos: usize,
    /// Open parentheses and unary minuses around the current token.
    depth: usize,
    end_column: usize,
}

impl Parser<'_> {
    /// Enter one level of nesting at `column`; over [`MAX_DEPTH`] is an error.
    fn descend(&mut self, column: usize) -> Result<(), FormulaSyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FormulaSyntaxError {
                column,
                message: format!(
                    "parentheses and minus signs are nested more than {MAX_DEPTH} deep here"
                ),
            });
        }
        Ok(())
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_op(&self, ops: &[BinOp]) -> Option<BinOp> {
        match self.peek() {
            Some(Token {
                kind: TokenKind::Op(op),
                ..
            }) if ops.contains(op) => Some(*op),
            _ => None,
        }
    }

    fn expr(&mut self) -> Result<FormulaExpr, FormulaSyntaxError> {
        self.left_assoc(&[BinOp::Add, BinOp::Sub], Self::term)
    }

    fn term(&mut self) -> Result<FormulaExpr, FormulaSyntaxError> {
        self.left_assoc(&[BinOp::Mul, BinOp::Div], Self::unary)
    }

    /// `operand (op operand)*` over one precedence level, grouped to the left.
    fn left_assoc(
        &mut self,
        ops: &[BinOp],
        operand: fn(&mut Self) -> Result<FormulaExpr, FormulaSyntaxError>,
    ) -> Result<FormulaExpr, FormulaSyntaxError> {
        let mut lhs = operand(self)?;
        while let Some(op) = self.peek_op(ops) {
            self.pos += 1;
            let rhs = operand(self)?;
            lhs = FormulaExpr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            };
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<FormulaExpr, FormulaSyntaxError> {
        if let Some(column) = self
            .peek_op(&[BinOp::Sub])
            .and(self.peek().map(|t| t.column))
        {
            self.pos += 1;
            self.descend(column)?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(FormulaExpr::Neg(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<FormulaExpr, FormulaSyntaxError> {
        let Some(tok) = self.peek().cloned() else {
            return Err(FormulaSyntaxError {
                column: self.end_column,
                message: "the formula ends where an operand was expected".into(),
            });
        };
        self.pos += 1;
        match tok.kind {
            TokenKind::Number(x) => Ok(FormulaExpr::Number(x)),
            TokenKind::Ident(name) => Ok(FormulaExpr::Ident(name)),
            TokenKind::LParen => {
                self.descend(tok.column)?;
                let inner = self.expr()?;
                self.depth -= 1;
                match self.peek() {
                    Some(Token {
                        kind: TokenKind::RParen,
                        ..
                    }) => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    Some(other) => Err(FormulaSyntaxError {
                        column: other.column,
                        message: format!(
                            "expected ')' to close the '(' at column {}, found {}",
                            tok.column,
                            other.kind.describe()
                        ),
                    }),
                    None => Err(FormulaSyntaxError {
                        column: self.end_column,
                        message: format!("missing ')' for the '(' at column {}", tok.column),
                    }),
                }
            }
            other => Err(FormulaSyntaxError {
                column: tok.column,
                message: format!(
                    "expected a number, an identifier or '(', found {}",
                    other.describe()
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(src: &str) -> String {
        Formula::parse(src).unwrap().expr().to_string()
    }

    fn err(src: &str) -> (usize, String) {
        let e = Formula::parse(src).unwrap_err();
        (e.column, e.message)
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(show("a + b * c"), "a + b * c");
        assert_eq!(show("(a + b) * c"), "(a + b) * c");
        assert_eq!(show("a - b - c"), "a - b - c");
        assert_eq!(show("a - (b - c)"), "a - (b - c)");
        assert_eq!(show("a / b / c"), "a / b / c");
        assert_eq!(show("a / (b * c)"), "a / (b * c)");
        assert_eq!(
            show("rd_expenditure / gdp * 100"),
            "rd_expenditure / gdp * 100"
        );
        let tree = Formula::parse("a / b * 100").unwrap();
        match tree.expr() {
            FormulaExpr::Binary {
                op: BinOp::Mul,
                lhs,
                ..
            } => {
                assert!(matches!(
                    lhs.as_ref(),
                    FormulaExpr::Binary { op: BinOp::Div, .. }
                ))
            }
            other => panic!("expected a product at the top, got {other:?}"),
        }
    }

    #[test]
    fn unary_minus_and_numbers() {
        assert_eq!(show("-a * b"), "-a * b");
        assert_eq!(show("-(a + b)"), "-(a + b)");
        assert_eq!(show("a - -b"), "a - -b");
        assert_eq!(show("a \u{2212} 2.5e1"), "a - 25");
        assert_eq!(show(".5 * x1"), "0.5 * x1");
        assert_eq!(Formula::parse("x").unwrap().identifiers(), vec!["x"]);
        assert_eq!(
            Formula::parse("a / b + a * c").unwrap().identifiers(),
            vec!["a", "b", "c"]
        );
    }

    #[test]
    fn denominators_are_the_right_operands_of_divisions() {
        let f = Formula::parse("a / (b - c) + d / e").unwrap();
        let dens: Vec<String> = f
            .expr()
            .denominators()
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert_eq!(dens, vec!["b - c", "e"]);
    }

    #[test]
    fn errors_carry_the_column() {
        assert_eq!(err("a + * b").0, 5);
        assert_eq!(err("a + ").0, 5);
        assert_eq!(err("(a + b").0, 7);
        assert!(err("(a + b").1.contains("missing ')'"));
        assert_eq!(err("a + b)").0, 6);
        assert_eq!(err("a b").0, 3);
        assert_eq!(err("GDP / pop").0, 1);
        assert_eq!(err("gdP").0, 3);
        assert_eq!(err("a % b").0, 3);
        assert_eq!(err("1e").0, 2);
        assert_eq!(err("   ").0, 1);
        assert_eq!(err("2x").0, 2);
        assert_eq!(err("地区 / a").0, 1);
    }

    #[test]
    fn nesting_and_length_are_bounded() {
        let nested = |depth: usize| format!("{}a{}", "(".repeat(depth), ")".repeat(depth));
        assert_eq!(show(&nested(MAX_DEPTH)), "a");
        let (column, message) = err(&nested(MAX_DEPTH + 1));
        assert_eq!(column, MAX_DEPTH + 1);
        assert!(message.contains("nested more than 64 deep"), "{message}");
        // The 5,000-parenthesis formula that overflowed the stack (~10 KB): refused by length.
        let (column, message) = err(&nested(5_000));
        assert_eq!(column, MAX_FORMULA_LEN + 1);
        assert_eq!(
            message,
            "the formula is 10001 bytes long; the limit is 4096"
        );
        // Unary minus nests too; a formula just under the length limit is parsed.
        assert_eq!(
            show(&format!("{}a", "-".repeat(MAX_DEPTH))).len(),
            MAX_DEPTH + 1
        );
        assert_eq!(
            err(&format!("{}a", "-".repeat(MAX_DEPTH + 1))).0,
            MAX_DEPTH + 1
        );
        let long = format!("a{}", " + a".repeat((MAX_FORMULA_LEN - 1) / 4));
        assert!(long.len() <= MAX_FORMULA_LEN);
        assert_eq!(Formula::parse(&long).unwrap().identifiers(), vec!["a"]);
        // Length counts bytes; the column of the cut counts characters.
        let wide = format!("a + {}", "地".repeat(MAX_FORMULA_LEN));
        // 4 ASCII characters, then 3-byte characters starting below byte 4096; the cut is next.
        assert_eq!(err(&wide).0, 4 + (MAX_FORMULA_LEN - 4).div_ceil(3) + 1);
    }
}
