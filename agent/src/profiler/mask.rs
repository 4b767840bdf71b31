//! Masking of PII values in finished profiles, so that a profile can leave the agent.

use super::profile::{ColumnProfile, ProfileValue, SemanticType};
use super::semantic::matches;

/// Masks every text value a profile carries (min, max, mode, median, quantiles, top values,
/// histogram labels) when the column is flagged PII. Counts and other statistics stay. Idempotent.
pub fn mask_top_values(profile: &mut ColumnProfile) {
    if !profile.pii || profile.masked {
        return;
    }
    let hint = profile.semantic.as_ref().and_then(|semantic| {
        semantic.detected.or_else(|| {
            semantic
                .matches
                .iter()
                .find(|found| found.pii)
                .map(|found| found.semantic_type)
        })
    });
    let mask = |value: &mut ProfileValue| {
        if let Some(text) = value.as_text_mut() {
            *text = mask_text(text, hint);
        }
    };
    for value in [
        &mut profile.min,
        &mut profile.max,
        &mut profile.mode,
        &mut profile.median,
    ]
    .into_iter()
    .flatten()
    {
        mask(value);
    }
    if let Some(quantiles) = &mut profile.quantiles {
        for value in [
            &mut quantiles.p25,
            &mut quantiles.p50,
            &mut quantiles.p75,
            &mut quantiles.p95,
            &mut quantiles.p99,
        ] {
            mask(value);
        }
    }
    for top in profile.top_values.iter_mut().flatten() {
        mask(&mut top.value);
    }
    if let Some(histogram) = &mut profile.histogram {
        for value in [&mut histogram.values, &mut histogram.edges]
            .into_iter()
            .flatten()
            .flatten()
        {
            mask(value);
        }
    }
    profile.masked = true;
}

/// A masked form of `value` that keeps only what helps recognise a pattern, never the identity:
/// e-mail `j***@e***.com`, card `****1111`, phone `+***71`, IPv4 `192.***`, IPv6 `2001:***`, other
/// text its first character and `***`. The shape follows the value itself when it matches a PII type,
/// else `hint` (the column's detected type).
pub fn mask_text(value: &str, hint: Option<SemanticType>) -> String {
    let own_type = [
        SemanticType::Email,
        SemanticType::CreditCard,
        SemanticType::Ipv4,
        SemanticType::Ipv6,
        SemanticType::Phone,
    ]
    .into_iter()
    .find(|&semantic_type| matches(semantic_type, value));
    let trimmed = value.trim();
    match own_type.or(hint) {
        Some(SemanticType::Email) if trimmed.contains('@') => {
            let (local, domain) = trimmed.rsplit_once('@').unwrap_or((trimmed, ""));
            let top_level = domain.rsplit_once('.').map_or("", |(_, top_level)| top_level);
            format!("{}***@{}***.{top_level}", first_char(local), first_char(domain))
        }
        Some(SemanticType::CreditCard) => {
            let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
            let tail = digits.get(digits.len().saturating_sub(4)..).unwrap_or_default();
            format!("****{tail}")
        }
        Some(SemanticType::Phone) => {
            let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
            let tail = digits.get(digits.len().saturating_sub(2)..).unwrap_or_default();
            let plus = if trimmed.starts_with('+') { "+" } else { "" };
            format!("{plus}***{tail}")
        }
        Some(SemanticType::Ipv4) if trimmed.contains('.') => {
            format!("{}.***", trimmed.split('.').next().unwrap_or_default())
        }
        Some(SemanticType::Ipv6) if trimmed.contains(':') => {
            format!("{}:***", trimmed.split(':').next().unwrap_or_default())
        }
        _ => format!("{}***", first_char(trimmed)),
    }
}

fn first_char(text: &str) -> String {
    text.chars().next().map(String::from).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_shape_not_identity() {
        assert_eq!(mask_text("john.doe@example.com", None), "j***@e***.com");
        assert_eq!(mask_text("4111 1111 1111 1111", None), "****1111");
        assert_eq!(mask_text("+1 (415) 555-2671", None), "+***71");
        assert_eq!(mask_text("192.168.10.20", None), "192.***");
        assert_eq!(mask_text("2001:db8::1", None), "2001:***");
        assert_eq!(mask_text("Zoë Müller", Some(SemanticType::Email)), "Z***");
        assert_eq!(mask_text("", None), "***");
    }
}
