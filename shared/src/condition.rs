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
    /// All hold (`a and b and c`: one node, so a long chain adds no depth).
    And(Vec<Condition>),
    /// At least one holds.
    Or(Vec<Condition>),
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
    let mut chars = source.chars().peekable();
    let name_char = |c: &char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.');
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {}
            '(' => tokens.push(Token::Open),
            ')' => tokens.push(Token::Close),
            '$' => {
                let name: String = std::iter::from_fn(|| chars.next_if(name_char)).collect();
                if name.is_empty() {
                    return Err("'$' must be followed by a parameter name".into());
                }
                tokens.push(Token::Param(name));
            }
            '"' | '\'' => {
                let mut text = String::new();
                loop {
                    match chars.next() {
                        None => return Err("unterminated quoted text".into()),
                        Some(d) if d == c => break,
                        Some(d) => text.push(d),
                    }
                }
                tokens.push(Token::Text(text));
            }
            '=' | '!' | '<' | '>' => {
                let then_eq = chars.next_if_eq(&'=').is_some();
                tokens.push(Token::Op(match (c, then_eq) {
                    ('=', _) => Op::Eq,
                    ('!', true) => Op::Ne,
                    ('<', true) => Op::Le,
                    ('<', false) => Op::Lt,
                    ('>', true) => Op::Ge,
                    ('>', false) => Op::Gt,
                    _ => return Err("'!' must be part of '!='; use 'not' to negate".into()),
                }));
            }
            _ if name_char(&c) => {
                let word: String = std::iter::once(c).chain(std::iter::from_fn(|| chars.next_if(name_char))).collect();
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

/// How deeply parentheses and `not` may nest. The parser, [`Condition::holds`] and dropping a
/// condition all recurse once per level, so a condition from outside (an agent file, an import)
/// must not choose the depth: `((((…))))` a hundred thousand deep would overflow the stack.
pub const MAX_DEPTH: usize = 32;

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    /// Parentheses and `not`s open around the current token.
    depth: usize,
}

impl Parser {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self) -> Result<Condition, String> {
        let mut any = vec![self.and()?];
        while self.peek_word("or") {
            self.at += 1;
            any.push(self.and()?);
        }
        Ok(<[_; 1]>::try_from(any).map_or_else(Condition::Or, |[one]| one))
    }

    fn and(&mut self) -> Result<Condition, String> {
        let mut all = vec![self.unary()?];
        while self.peek_word("and") {
            self.at += 1;
            all.push(self.unary()?);
        }
        Ok(<[_; 1]>::try_from(all).map_or_else(Condition::And, |[one]| one))
    }

    /// Parses what `inner` parses one nesting level deeper, or fails past [`MAX_DEPTH`].
    fn nested<T>(&mut self, inner: impl FnOnce(&mut Self) -> Result<T, String>) -> Result<T, String> {
        if self.depth >= MAX_DEPTH {
            return Err(format!("the condition nests parentheses and 'not' more than {MAX_DEPTH} deep"));
        }
        self.depth += 1;
        let parsed = inner(self);
        self.depth -= 1;
        parsed
    }

    fn unary(&mut self) -> Result<Condition, String> {
        if self.peek_word("not") {
            self.at += 1;
            return self.nested(|p| Ok(Condition::Not(Box::new(p.unary()?))));
        }
        if self.tokens.get(self.at) == Some(&Token::Open) {
            self.at += 1;
            let inner = self.nested(Self::or)?;
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
    /// Parses a condition; the error says what is wrong. Nesting is limited to [`MAX_DEPTH`].
    pub fn parse(source: &str) -> Result<Condition, String> {
        let mut parser = Parser { tokens: tokenize(source)?, at: 0, depth: 0 };
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
            Condition::And(all) => all.iter().all(|c| c.holds(parameters)),
            Condition::Or(any) => any.iter().any(|c| c.holds(parameters)),
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

    #[test]
    fn nesting_is_limited_not_a_stack_overflow() {
        let deep = 100_000;
        let parens = format!("{}$a{}", "(".repeat(deep), ")".repeat(deep));
        let nots = format!("{}$a", "not ".repeat(deep));
        let expected = format!("the condition nests parentheses and 'not' more than {MAX_DEPTH} deep");
        assert_eq!(Condition::parse(&parens).unwrap_err(), expected);
        assert_eq!(Condition::parse(&nots).unwrap_err(), expected);
        assert_eq!(Condition::parse(&format!("not {parens}")).unwrap_err(), expected);

        // Up to the limit is fine, and evaluates as before.
        let p = json!({"a": true});
        let at_limit = format!("{}$a{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(holds(&at_limit, p.clone()));
        assert!(holds(&format!("{}$a", "not ".repeat(MAX_DEPTH)), p.clone()));
        assert!(!holds(&format!("{}$a", "not ".repeat(MAX_DEPTH - 1)), p.clone()));
        assert!(Condition::parse(&format!("(({at_limit}))")).is_err());
    }

    #[test]
    fn long_chains_are_flat() {
        // A chain of `and`/`or` is one node however long, so it adds no depth: holds, clone and
        // drop stay shallow on a hundred thousand terms.
        let p = json!({"a": true, "b": false});
        let ands = vec!["$a"; 100_000].join(" and ");
        let ors = format!("{} or $a", vec!["$b"; 100_000].join(" or "));
        assert!(holds(&ands, p.clone()));
        assert!(holds(&ors, p.clone()));
        assert!(!holds(&format!("{ands} and $b"), p.clone()));
        assert_eq!(
            Condition::parse("$a and $b or not $c").unwrap(),
            Condition::Or(vec![
                Condition::And(vec![
                    Condition::Truthy(Operand::Parameter("a".into())),
                    Condition::Truthy(Operand::Parameter("b".into())),
                ]),
                Condition::Not(Box::new(Condition::Truthy(Operand::Parameter("c".into())))),
            ])
        );
    }

    #[test]
    fn operators_tokenize_as_before() {
        let p = json!({"n": 5});
        for (source, expected) in [
            ("$n == 5", true),
            ("$n = 5", true),
            ("$n != 5", false),
            ("$n<=5", true),
            ("$n<5", false),
            ("$n>=5", true),
            ("$n>5", false),
            ("$n = '5'", true),
            ("$n = \"6\"", false),
        ] {
            assert_eq!(holds(source, p.clone()), expected, "{source}");
        }
        assert_eq!(Condition::parse("$a = #").unwrap_err(), "unexpected '#'");
    }
}
