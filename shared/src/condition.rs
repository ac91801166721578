//! Route conditions on parameters: `$order-status = "shipped" and $amount >= 100`.
//!
//! A small language, parsed when the agent loads so a typo is an agent-file error, not a
//! surprise mid-conversation:
//!
//! ```text
//! expr    := and ("or" and)*
//! and     := unary ("and" unary)*
//! unary   := "not" unary | "(" expr ")" | operand (op operand)?
//! op      := "=" | "!=" | "<" | "<=" | ">" | ">="
//! operand := $parameter | number | "text" | 'text' | true | false | null | bare-word
//! ```
//!
//! A lone `$x` holds when the parameter is set and not `false`, `null`, `""` or `0`. An unset
//! parameter compares as `null`. Numbers compare numerically, strings in order, text without
//! regard to case.

use serde_json::{Map, Value};

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Both hold.
    And(Box<Condition>, Box<Condition>),
    /// Either holds.
    Or(Box<Condition>, Box<Condition>),
    /// The inner one does not hold.
    Not(Box<Condition>),
    /// An operand on its own: truthiness.
    Truthy(Operand),
    /// A comparison.
    Compare(Operand, Op, Operand),
}

/// A value in a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// `$name`: a session parameter.
    Parameter(String),
    /// A literal.
    Literal(Value),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Param(String),
    Number(f64),
    Text(String),
    Op(Op),
    Open,
    Close,
}

fn tokenize(source: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = source.chars().collect();
    let mut i = 0;
    let name_char = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.');
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' => i += 1,
            '(' => (tokens.push(Token::Open), i += 1).1,
            ')' => (tokens.push(Token::Close), i += 1).1,
            '$' => {
                let start = i + 1;
                i = start;
                while i < chars.len() && name_char(chars[i]) {
                    i += 1;
                }
                if i == start {
                    return Err("'$' must be followed by a parameter name".into());
                }
                tokens.push(Token::Param(chars[start..i].iter().collect()));
            }
            '"' | '\'' => {
                let end = chars[i + 1..].iter().position(|&d| d == c).ok_or("unterminated quoted text")?;
                tokens.push(Token::Text(chars[i + 1..i + 1 + end].iter().collect()));
                i += end + 2;
            }
            '=' | '!' | '<' | '>' => {
                let next = chars.get(i + 1).copied();
                let (op, len) = match (c, next) {
                    ('=', Some('=')) => (Op::Eq, 2),
                    ('=', _) => (Op::Eq, 1),
                    ('!', Some('=')) => (Op::Ne, 2),
                    ('<', Some('=')) => (Op::Le, 2),
                    ('<', _) => (Op::Lt, 1),
                    ('>', Some('=')) => (Op::Ge, 2),
                    ('>', _) => (Op::Gt, 1),
                    _ => return Err("'!' must be part of '!='; use 'not' to negate".into()),
                };
                tokens.push(Token::Op(op));
                i += len;
            }
            _ if name_char(c) => {
                let start = i;
                while i < chars.len() && name_char(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                match word.parse::<f64>() {
                    Ok(n) if c.is_ascii_digit() || c == '-' => tokens.push(Token::Number(n)),
                    _ => tokens.push(Token::Word(word)),
                }
            }
            _ => return Err(format!("unexpected '{c}'")),
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self) -> Result<Condition, String> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.at += 1;
            left = Condition::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Condition, String> {
        let mut left = self.unary()?;
        while self.peek_word("and") {
            self.at += 1;
            left = Condition::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Condition, String> {
        if self.peek_word("not") {
            self.at += 1;
            return Ok(Condition::Not(Box::new(self.unary()?)));
        }
        if self.tokens.get(self.at) == Some(&Token::Open) {
            self.at += 1;
            let inner = self.or()?;
            if self.tokens.get(self.at) != Some(&Token::Close) {
                return Err("missing ')'".into());
            }
            self.at += 1;
            return Ok(inner);
        }
        let left = self.operand()?;
        if let Some(Token::Op(op)) = self.tokens.get(self.at) {
            let op = *op;
            self.at += 1;
            return Ok(Condition::Compare(left, op, self.operand()?));
        }
        Ok(Condition::Truthy(left))
    }

    fn operand(&mut self) -> Result<Operand, String> {
        let token = self.tokens.get(self.at).cloned().ok_or("the condition ends too early")?;
        self.at += 1;
        Ok(match token {
            Token::Param(p) => Operand::Parameter(p),
            Token::Number(n) => Operand::Literal(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)),
            Token::Text(t) => Operand::Literal(Value::String(t)),
            Token::Word(w) => Operand::Literal(match w.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                "and" | "or" | "not" => return Err(format!("expected a value, found '{w}'")),
                _ => Value::String(w),
            }),
            Token::Op(_) => return Err("expected a value before the operator".into()),
            Token::Open | Token::Close => return Err("misplaced parenthesis".into()),
        })
    }
}

impl Condition {
    /// Parses a condition; the error says what is wrong.
    pub fn parse(source: &str) -> Result<Condition, String> {
        let mut parser = Parser { tokens: tokenize(source)?, at: 0 };
        if parser.tokens.is_empty() {
            return Err("the condition is empty".into());
        }
        let condition = parser.or()?;
        match parser.tokens.get(parser.at) {
            None => Ok(condition),
            Some(t) => Err(format!("unexpected {t:?} after a complete condition; join conditions with 'and' or 'or'")),
        }
    }

    /// Whether the condition holds for these parameters.
    pub fn holds(&self, parameters: &Map<String, Value>) -> bool {
        match self {
            Condition::And(a, b) => a.holds(parameters) && b.holds(parameters),
            Condition::Or(a, b) => a.holds(parameters) || b.holds(parameters),
            Condition::Not(a) => !a.holds(parameters),
            Condition::Truthy(o) => truthy(&o.value(parameters)),
            Condition::Compare(a, op, b) => compare(&a.value(parameters), *op, &b.value(parameters)),
        }
    }
}

impl Operand {
    fn value(&self, parameters: &Map<String, Value>) -> Value {
        match self {
            Operand::Parameter(p) => parameters.get(p).cloned().unwrap_or(Value::Null),
            Operand::Literal(v) => v.clone(),
        }
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(_) => true,
    }
}

fn compare(a: &Value, op: Op, b: &Value) -> bool {
    use std::cmp::Ordering;
    let as_number = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    let ordering = match (as_number(a), as_number(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y),
        _ => match (a, b) {
            (Value::String(x), Value::String(y)) => Some(x.to_lowercase().cmp(&y.to_lowercase())),
            _ => (a == b).then_some(Ordering::Equal),
        },
    };
    match op {
        Op::Eq => ordering == Some(Ordering::Equal),
        Op::Ne => ordering != Some(Ordering::Equal),
        Op::Lt => ordering == Some(Ordering::Less),
        Op::Le => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
        Op::Gt => ordering == Some(Ordering::Greater),
        Op::Ge => matches!(ordering, Some(Ordering::Greater | Ordering::Equal)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn holds(source: &str, params: Value) -> bool {
        Condition::parse(source).unwrap().holds(params.as_object().unwrap())
    }

    #[test]
    fn comparisons_and_logic() {
        let p = json!({"status": "Shipped", "amount": 120, "code": "042", "vip": true, "empty": ""});
        assert!(holds("$status = shipped", p.clone()));
        assert!(holds("$status = \"shipped\" and $amount >= 100", p.clone()));
        assert!(!holds("$amount < 100 or $status != 'shipped'", p.clone()));
        assert!(holds("not ($amount < 100)", p.clone()));
        assert!(holds("$code = 42", p.clone()));
        assert!(holds("$vip and not $empty and not $missing", p.clone()));
        assert!(holds("$missing = null", p.clone()));
        assert!(holds("$amount > -1.5", p.clone()));
        assert!(!holds("$status > 5", p));
    }

    #[test]
    fn malformed_conditions_say_why() {
        for (source, expected) in [
            ("", "the condition is empty"),
            ("$a = ", "the condition ends too early"),
            ("$a = 'x", "unterminated quoted text"),
            ("($a", "missing ')'"),
            ("$ = 1", "'$' must be followed by a parameter name"),
            ("!$a", "'!' must be part of '!='; use 'not' to negate"),
            ("$a $b", "unexpected Param(\"b\") after a complete condition; join conditions with 'and' or 'or'"),
        ] {
            assert_eq!(Condition::parse(source).unwrap_err(), expected, "{source}");
        }
    }
}
