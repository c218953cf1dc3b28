//! OTLP settings: where the gRPC listener binds (`grpc-listen`, `off` for none) and how OTLP
//! names and attributes become labels (`otlp-translation-strategy`,
//! `otlp-promote-resource-attributes`, `otlp-promote-scope-metadata`,
//! `otlp-convert-histograms-to-nhcb`, as Prometheus' `otlp:` configuration block names them).

use strata_otlp::{NameStrategy, Options};

use crate::config::{ConfigError, ServerConfig};

impl ServerConfig {
    /// The translation options.
    pub(crate) fn otlp_options(&self) -> Result<Options, ConfigError> {
        let names = NameStrategy::parse(&self.otlp_translation_strategy).ok_or_else(|| {
            let known: Vec<&str> = NameStrategy::ALL.iter().map(|(_, n)| *n).collect();
            ConfigError(format!(
                "otlp-translation-strategy {:?}: expected one of {}",
                self.otlp_translation_strategy,
                known.join(", ")
            ))
        })?;
        Ok(Options {
            names,
            promote_resource_attributes: self.otlp_promote_resource_attributes.clone(),
            promote_scope: self.otlp_promote_scope_metadata,
            histograms_as_nhcb: self.otlp_convert_histograms_to_nhcb,
        })
    }

    /// The gRPC listener's address, `None` when it is off.
    pub(crate) fn grpc_addr(&self) -> Option<&str> {
        Some(self.grpc_listen.as_str()).filter(|a| !a.is_empty() && *a != "off")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategies_and_listener() {
        let c = ServerConfig::default();
        assert_eq!(c.otlp_options().unwrap().names, NameStrategy::UnderscoreEscapingWithSuffixes);
        assert_eq!(c.grpc_addr(), Some("127.0.0.1:9091"));
        let c = ServerConfig {
            otlp_translation_strategy: "NoTranslation".into(),
            grpc_listen: "off".into(),
            ..ServerConfig::default()
        };
        assert_eq!(c.otlp_options().unwrap().names, NameStrategy::NoTranslation);
        assert_eq!(c.grpc_addr(), None);
        let bad = ServerConfig { otlp_translation_strategy: "Dots".into(), ..ServerConfig::default() };
        assert!(bad.validate().unwrap_err().0.contains("expected one of UnderscoreEscapingWithSuffixes"));
    }
}
