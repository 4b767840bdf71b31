//! Small shared helpers: the stable value hash, a deterministic random source, and text formatting of
//! exact decimals and timestamps.

use xxhash_rust::xxh3::xxh3_64;

/// Hash of an integer value: XXH3-64 (seed 0) of its little-endian bytes. XXH3 is a published,
/// frozen algorithm, so sketches built by different agent versions or platforms stay mergeable.
#[inline]
/// Splits a batch and its optional validity mask into matching chunks of `size` rows.
pub(crate) fn masked_chunks<'a, T>(
    values: &'a [T],
    valid: Option<&'a [bool]>,
    size: usize,
) -> impl Iterator<Item = (&'a [T], Option<&'a [bool]>)> {
    let mut masks = valid.map(|mask| mask.chunks(size));
    values
        .chunks(size)
        .map(move |chunk| (chunk, masks.as_mut().and_then(Iterator::next)))
}

/// The values of a chunk whose mask entry is true (all of them without a mask); a masked chunk is
/// compacted into `scratch`.
pub(crate) fn valid_values<'a, T: Copy>(
    values: &'a [T],
    mask: Option<&[bool]>,
    scratch: &'a mut Vec<T>,
) -> &'a [T] {
    match mask {
        None => values,
        Some(mask) => {
            scratch.clear();
            scratch.extend(
                values
                    .iter()
                    .zip(mask)
                    .filter(|&(_, &valid)| valid)
                    .map(|(&value, _)| value),
            );
            scratch
        }
    }
}

pub(crate) fn hash_i64(value: i64) -> u64 {
    xxh3_64(&value.to_le_bytes())
}

/// Hash of a float value: XXH3-64 of the IEEE-754 bits. Callers normalise `-0.0` to `0.0` first.
#[inline]
pub(crate) fn hash_f64(value: f64) -> u64 {
    xxh3_64(&value.to_bits().to_le_bytes())
}

/// Hash of a text value: XXH3-64 of its UTF-8 bytes.
#[inline]
pub(crate) fn hash_str(value: &str) -> u64 {
    xxh3_64(value.as_bytes())
}

/// SplitMix64 (Steele, Lea and Flood; Vigna's reference `splitmix64.c`): the deterministic generator
/// for sketch coin flips and sampling priorities, seeded with `SeedableRng::seed_from_u64` (the seed is
/// the initial state). Fixed seeds make a profile of the same data reproducible.
pub(crate) use rand_xoshiro::SplitMix64;
pub(crate) use rand_xoshiro::rand_core::{RngCore, SeedableRng};

/// `10^scale` as a float, for turning decimal mantissas into values.
pub(crate) fn pow10(scale: u32) -> f64 {
    10f64.powi(scale as i32)
}

/// Exact decimal text of `mantissa / 10^scale`, e.g. `(-12345, 2)` → `-123.45`.
pub(crate) fn decimal_text(mantissa: i128, scale: u32) -> String {
    let digits = mantissa.unsigned_abs().to_string();
    let sign = if mantissa < 0 { "-" } else { "" };
    let scale = scale as usize;
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
    } else {
        digits
    };
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    format!("{sign}{whole}.{fraction}")
}

pub(crate) const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar (H. Hinnant's
/// `civil_from_days`).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn year_text(year: i64) -> String {
    if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else {
        format!("{year:+05}")
    }
}

/// `YYYY-MM-DD` of a day number (days since the Unix epoch).
pub(crate) fn date_text(days: i64) -> String {
    let (year, month, day) = civil_from_days(days);
    format!("{}-{month:02}-{day:02}", year_text(year))
}

/// RFC 3339 text in UTC with microseconds, e.g. `2024-03-01T12:30:00.000001Z`.
pub(crate) fn timestamp_text(micros: i64) -> String {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let in_day = micros.rem_euclid(MICROS_PER_DAY);
    let seconds = in_day / 1_000_000;
    let fraction = in_day % 1_000_000;
    format!(
        "{}T{:02}:{:02}:{:02}.{fraction:06}Z",
        date_text(days),
        seconds / 3600,
        (seconds / 60) % 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_is_the_published_sequence() {
        // Vigna's splitmix64.c from state 0, and from 1234567 (the test vector of several ports).
        let mut rng = SplitMix64::seed_from_u64(0);
        let first: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(
            first,
            [
                0xe220_a839_7b1d_cdaf,
                0x6e78_9e6a_a1b9_65f4,
                0x06c4_5d18_8009_454f
            ]
        );
        let mut rng = SplitMix64::seed_from_u64(1_234_567);
        let first: Vec<u64> = (0..5).map(|_| rng.next_u64()).collect();
        assert_eq!(
            first,
            [
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423,
                4_593_380_528_125_082_431,
                16_408_922_859_458_223_821
            ]
        );
    }

    #[test]
    fn decimal_text_is_exact() {
        assert_eq!(decimal_text(-12345, 2), "-123.45");
        assert_eq!(decimal_text(5, 3), "0.005");
        assert_eq!(decimal_text(-5, 1), "-0.5");
        assert_eq!(decimal_text(0, 2), "0.00");
        assert_eq!(decimal_text(i128::from(i64::MAX) * 3, 0), "27670116110564327421");
    }

    #[test]
    fn timestamps_format_in_utc_across_the_epoch() {
        assert_eq!(timestamp_text(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(timestamp_text(-1), "1969-12-31T23:59:59.999999Z");
        assert_eq!(timestamp_text(951_782_400_000_000), "2000-02-29T00:00:00.000000Z");
        assert_eq!(
            timestamp_text(1_709_296_200_000_001),
            "2024-03-01T12:30:00.000001Z"
        );
        assert_eq!(date_text(-719_528), "0000-01-01");
        assert_eq!(date_text(2_932_897), "+10000-01-01");
    }
}
