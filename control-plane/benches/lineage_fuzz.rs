//! A bounded mutation fuzzer for the lineage entry point: mutates typical statements (byte flips,
//! token deletions and duplications, truncations, splices) and checks `analyze_script` never panics.
//! Prints the number of inputs tried; exits non-zero with the input on the first panic.
//!
//! `cargo bench -p cwic-control-plane --bench lineage_fuzz -- [seconds]` (default 30)

#[path = "support/lineage_corpus.rs"]
mod lineage_corpus;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use cwic_control_plane::lineage::{analyze_script, dialect_for_name};

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            0
        } else {
            (self.next() % bound as u64) as usize
        }
    }
}

const TOKENS: &[&str] = &[
    "(",
    ")",
    ",",
    ";",
    "SELECT",
    "FROM",
    "WHERE",
    "JOIN",
    "ON",
    "AS",
    "WITH",
    "UNION",
    "INSERT INTO",
    "VALUES",
    "*",
    "'",
    "\"",
    "`",
    "--",
    "/*",
    "OVER (",
    "CASE WHEN",
    "END",
    ".",
    "LATERAL VIEW explode(",
    "MERGE INTO",
    "USING",
];

fn mutate(rng: &mut XorShift, input: &str, corpus: &[&str]) -> String {
    let mut text = input.to_owned();
    for _ in 0..1 + rng.below(4) {
        let cut = |text: &str, rng: &mut XorShift| {
            let mut at = rng.below(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            at
        };
        match rng.below(5) {
            0 => {
                let at = cut(&text, rng);
                text.insert_str(at, TOKENS[rng.below(TOKENS.len())]);
            }
            1 => {
                let (a, b) = (cut(&text, rng), cut(&text, rng));
                text.replace_range(a.min(b)..a.max(b), "");
            }
            2 => {
                let at = cut(&text, rng);
                text.truncate(at);
            }
            3 => {
                let other = corpus[rng.below(corpus.len())];
                let (at, from) = (cut(&text, rng), cut(other, rng));
                text = format!("{}{}", &text[..at], &other[from..]);
            }
            _ => {
                let at = cut(&text, rng);
                let piece: String = text[at..].chars().take(1 + rng.below(20)).collect();
                text.insert_str(at, &piece);
            }
        }
    }
    text
}

fn main() -> ExitCode {
    let seconds: u64 = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(30);
    let dialects: Vec<_> = [
        "ansi",
        "postgres",
        "mysql",
        "hive",
        "snowflake",
        "bigquery",
        "tsql",
    ]
    .iter()
    .map(|name| dialect_for_name(name).0)
    .collect();
    let corpus = lineage_corpus::STATEMENTS;
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut tried, mut parsed) = (0_u64, 0_u64);
    std::panic::set_hook(Box::new(|_| {}));
    while Instant::now() < deadline {
        let seed = corpus[rng.below(corpus.len())];
        let input = mutate(&mut rng, seed, corpus);
        let dialect = &dialects[rng.below(dialects.len())];
        match catch_unwind(AssertUnwindSafe(|| analyze_script(&input, dialect.as_ref()))) {
            Ok(result) => parsed += u64::from(result.is_ok()),
            Err(_) => {
                eprintln!("panic on input ({:?}):\n{input}", dialect);
                return ExitCode::FAILURE;
            }
        }
        tried += 1;
    }
    println!("lineage fuzz: {tried} mutated inputs in {seconds} s, {parsed} parsed, 0 panics");
    ExitCode::SUCCESS
}
