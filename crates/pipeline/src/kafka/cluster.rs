//! Where a cluster is and how to reach it: the bootstrap list and the client settings
//! that every client of a command shares (producer, consumers, admin, dead letters), so
//! that TLS, SASL and any librdkafka setting given once apply to all of them.

use std::fmt;

use rdkafka::error::KafkaError;
use rdkafka::producer::BaseProducer;
use rdkafka::ClientConfig;

/// A cluster and the settings its clients need.
#[derive(Clone)]
pub struct Cluster {
    bootstrap: String,
    settings: Vec<Setting>,
}

/// One librdkafka setting.
#[derive(Clone)]
struct Setting {
    key: String,
    value: String,
    secret: bool,
}

/// A setting librdkafka refuses, with its own words.
#[derive(Debug, thiserror::Error)]
#[error("Kafka client setting {key}: {reason}")]
pub struct BadSetting {
    /// The setting's key.
    pub key: String,
    /// librdkafka's message.
    pub reason: String,
}

/// Settings a command must not take from `--kafka-option`: they are the command's own.
const OWN_KEYS: [&str; 3] = ["bootstrap.servers", "group.id", "client.id"];

impl Cluster {
    /// A cluster reached with librdkafka's defaults (plaintext).
    pub fn new(bootstrap: impl Into<String>) -> Cluster {
        Cluster { bootstrap: bootstrap.into(), settings: Vec::new() }
    }

    /// Adds a setting (a later one of the same key wins).
    pub fn with(mut self, key: &str, value: &str) -> Cluster {
        self.settings.push(Setting { key: key.into(), value: value.into(), secret: false });
        self
    }

    /// Adds a setting whose value is never shown (passwords).
    pub fn with_secret(mut self, key: &str, value: &str) -> Cluster {
        self.settings.push(Setting { key: key.into(), value: value.into(), secret: true });
        self
    }

    /// The bootstrap servers.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// The value of a setting that is not secret, the last one given.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings.iter().rev().find(|s| s.key == key && !s.secret).map(|s| s.value.as_str())
    }

    /// Puts the settings on `config`.
    pub fn apply(&self, config: &mut ClientConfig) {
        for setting in &self.settings {
            config.set(&setting.key, &setting.value);
        }
    }

    /// Checks every setting with librdkafka itself before anything starts, so that a
    /// misspelt key or a bad value ends the command at once with librdkafka's message.
    pub fn check(&self) -> Result<(), BadSetting> {
        for setting in &self.settings {
            if OWN_KEYS.contains(&setting.key.as_str()) {
                return Err(BadSetting {
                    key: setting.key.clone(),
                    reason: "set by orderstream itself (use --brokers, --group)".into(),
                });
            }
        }
        // No bootstrap servers: the client made to check connects nowhere.
        let mut config = ClientConfig::new();
        self.apply(&mut config);
        let hide = |text: String| {
            self.settings.iter().filter(|s| s.secret).fold(text, |t, s| t.replace(&s.value, "<hidden>"))
        };
        match config.create::<BaseProducer>() {
            Ok(_) => Ok(()),
            // One setting refused: an unknown key or a bad value.
            Err(KafkaError::ClientConfig(_, reason, key, _)) => Err(BadSetting { key, reason: hide(reason) }),
            // Settings that do not go together (SASL without a mechanism it knows).
            Err(e) => {
                let mut keys: Vec<&str> = Vec::new();
                for setting in &self.settings {
                    if !keys.contains(&setting.key.as_str()) {
                        keys.push(&setting.key);
                    }
                }
                Err(BadSetting { key: keys.join(", "), reason: hide(e.to_string()) })
            }
        }
    }

    /// The settings as `key=value` lines, secrets masked (for logs and `config show`).
    pub fn describe(&self) -> Vec<String> {
        self.settings
            .iter()
            .map(|s| format!("{}={}", s.key, if s.secret { "********" } else { s.value.as_str() }))
            .collect()
    }
}

/// Shown as its bootstrap list, in logs and errors.
impl fmt::Display for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.bootstrap)
    }
}

/// Never shows a secret.
impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("bootstrap", &self.bootstrap)
            .field("settings", &self.describe())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn librdkafka_judges_the_settings_and_secrets_stay_hidden() {
        let good = Cluster::new("127.0.0.1:9")
            .with("socket.keepalive.enable", "true")
            .with_secret("sasl.password", "hunter2");
        good.check().unwrap();
        assert!(!format!("{good:?}").contains("hunter2"));
        assert!(good.describe().contains(&"sasl.password=********".to_string()));

        let typo = Cluster::new("127.0.0.1:9").with("socket.keepalive.enabel", "true").check().unwrap_err();
        assert_eq!(typo.key, "socket.keepalive.enabel");
        assert!(typo.reason.contains("No such configuration property"), "{typo}");
        let bad =
            Cluster::new("127.0.0.1:9").with("security.protocol", "carrier-pigeon").check().unwrap_err();
        assert!(
            bad.to_string().contains("security.protocol") && bad.reason.contains("carrier-pigeon"),
            "{bad}"
        );
        let own = Cluster::new("127.0.0.1:9").with("group.id", "x").check().unwrap_err();
        assert!(own.reason.contains("--group"), "{own}");
    }
}
