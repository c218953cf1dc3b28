//! Go's `fmt.Sprintf` for the verbs templates use: `%v %s %d %f %e %g %q %x %X %t %%`, with
//! flags (`-+0 #`), width and precision; a verb that does not fit its argument prints Go's
//! `%!d(string=abc)` rather than failing.

use strata_model::gofmt::{format_e, format_f, format_g, format_g_precision};

use super::value::Value;

/// `fmt.Sprintf(format, args...)`.
pub(crate) fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut next_arg = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&flag) = chars.peek() {
            match flag {
                '-' => spec.left = true,
                '+' => spec.plus = true,
                '0' => spec.zero = true,
                ' ' => spec.space = true,
                '#' => spec.sharp = true,
                _ => break,
            }
            chars.next();
        }
        spec.width = number(&mut chars, args, &mut next_arg);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.precision = Some(number(&mut chars, args, &mut next_arg).unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next_arg) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        next_arg += 1;
        out.push_str(&spec.pad(format_one(verb, &spec, arg), arg));
    }
    if next_arg < args.len() {
        let extra: Vec<String> =
            args[next_arg..].iter().map(|a| format!("{}={}", a.type_name(), a.to_go_string())).collect();
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    out
}

#[derive(Default)]
struct Spec {
    left: bool,
    plus: bool,
    zero: bool,
    space: bool,
    sharp: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

impl Spec {
    fn pad(&self, text: String, arg: &Value) -> String {
        let Some(width) = self.width else { return text };
        let len = text.chars().count();
        if len >= width {
            return text;
        }
        let fill = width - len;
        if self.left {
            return format!("{text}{}", " ".repeat(fill));
        }
        if self.zero && matches!(arg, Value::Int(_) | Value::Float(_)) {
            let (sign, digits) = match text.strip_prefix(['-', '+']) {
                Some(rest) => (&text[..1], rest),
                None => ("", text.as_str()),
            };
            return format!("{sign}{}{digits}", "0".repeat(fill));
        }
        format!("{}{text}", " ".repeat(fill))
    }
}

fn number(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    args: &[Value],
    next_arg: &mut usize,
) -> Option<usize> {
    if chars.peek() == Some(&'*') {
        chars.next();
        let n = match args.get(*next_arg) {
            Some(Value::Int(n)) => Some((*n).max(0) as usize),
            _ => None,
        };
        *next_arg += 1;
        return n;
    }
    let mut n: Option<usize> = None;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize));
        chars.next();
    }
    n
}

fn format_one(verb: char, spec: &Spec, arg: &Value) -> String {
    let signed = |text: String, negative: bool| {
        if negative {
            text
        } else if spec.plus {
            format!("+{text}")
        } else if spec.space {
            format!(" {text}")
        } else {
            text
        }
    };
    match (verb, arg) {
        ('v', Value::Float(f)) | ('g', Value::Float(f)) => signed(
            match spec.precision {
                Some(p) => format_g_precision(*f, p),
                None => format_g(*f),
            },
            f.is_sign_negative(),
        ),
        ('G', Value::Float(_)) => format_one('g', spec, arg).replace('e', "E"),
        ('e', Value::Float(f)) => signed(format_e(*f, spec.precision.unwrap_or(6)), f.is_sign_negative()),
        ('E', Value::Float(_)) => format_one('e', spec, arg).replace('e', "E"),
        ('f' | 'F', Value::Float(f)) => {
            signed(format_f(*f, spec.precision.unwrap_or(6)), f.is_sign_negative())
        }
        ('d' | 'v', Value::Int(n)) => signed(n.to_string(), *n < 0),
        ('x', Value::Int(n)) => hex(*n, false, spec.sharp),
        ('X', Value::Int(n)) => hex(*n, true, spec.sharp),
        ('o', Value::Int(n)) => format!("{n:o}"),
        ('b', Value::Int(n)) => format!("{n:b}"),
        ('c', Value::Int(n)) => char::from_u32(*n as u32).map(String::from).unwrap_or_default(),
        ('s' | 'v', Value::String(s)) => match spec.precision {
            Some(p) => s.chars().take(p).collect(),
            None => s.clone(),
        },
        ('q', Value::String(s)) => strata_promql::go_quote(s),
        ('x', Value::String(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
        ('X', Value::String(s)) => s.bytes().map(|b| format!("{b:02X}")).collect(),
        ('t' | 'v', Value::Bool(b)) => b.to_string(),
        ('v', other) => other.to_go_string(),
        (
            's',
            other @ (Value::List(_)
            | Value::Map { .. }
            | Value::Struct(_)
            | Value::Time(_)
            | Value::Duration(_)),
        ) => other.to_go_string(),
        ('d', Value::Duration(d)) => ((d * 1e9).round() as i64).to_string(),
        (_, Value::Nil) => format!("%!{verb}(<nil>)"),
        (_, other) => format!("%!{verb}({}={})", other.type_name(), other.to_go_string()),
    }
}

fn hex(n: i64, upper: bool, sharp: bool) -> String {
    let digits = if upper { format!("{:X}", n.unsigned_abs()) } else { format!("{:x}", n.unsigned_abs()) };
    let prefix = if sharp {
        if upper {
            "0X"
        } else {
            "0x"
        }
    } else {
        ""
    };
    format!("{}{prefix}{digits}", if n < 0 { "-" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_as_go_prints_them() {
        let f = Value::Float;
        assert_eq!(sprintf("%.2f", &[f(2.0 / 3.0)]), "0.67");
        assert_eq!(sprintf("%.4g%s", &[f(1.048576), Value::String("M".into())]), "1.049M");
        assert_eq!(
            sprintf("%v|%s|%d", &[f(1234567.0), Value::String("a".into()), Value::Int(-3)]),
            "1.234567e+06|a|-3"
        );
        assert_eq!(
            sprintf("%5d|%-4s|%05.1f", &[Value::Int(42), Value::String("ab".into()), f(2.6543)]),
            "   42|ab  |002.7"
        );
        assert_eq!(sprintf("%d", &[Value::String("x".into())]), "%!d(string=x)");
        assert_eq!(sprintf("%d %d", &[Value::Int(1)]), "1 %!d(MISSING)");
        assert_eq!(sprintf("%d", &[Value::Int(1), Value::Int(2)]), "1%!(EXTRA int=2)");
        assert_eq!(sprintf("%q 100%%", &[Value::String("a\"b".into())]), "\"a\\\"b\" 100%");
        assert_eq!(sprintf("%e", &[f(1500000.0)]), "1.500000e+06");
    }
}
