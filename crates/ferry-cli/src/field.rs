//! The per-cluster options, by name: one list drives the flags, the
//! argument ids, and the config file keys, so the three never disagree.

use crate::Side;

/// One per-cluster option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Hosts,
    Port,
    Datacenter,
    Username,
    Password,
    PasswordFile,
    DisableTls,
    Ca,
    Cert,
    Key,
    SkipHostnameCheck,
    TlsServerName,
}

impl Field {
    /// Every field, in the order the flags are listed.
    pub(crate) const ALL: [Field; 12] = [
        Field::Hosts,
        Field::Port,
        Field::Datacenter,
        Field::Username,
        Field::Password,
        Field::PasswordFile,
        Field::DisableTls,
        Field::Ca,
        Field::Cert,
        Field::Key,
        Field::SkipHostnameCheck,
        Field::TlsServerName,
    ];

    /// The clap argument id, which is also the config key in snake_case:
    /// `source_port`, `disable_source_tls`, `source`.
    pub(crate) fn id(self, side: Side) -> String {
        let s = side.name();
        match self {
            Field::Hosts => s.to_owned(),
            Field::DisableTls => format!("disable_{s}_tls"),
            other => format!("{s}_{}", other.suffix()),
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Field::Hosts | Field::DisableTls => "",
            Field::Port => "port",
            Field::Datacenter => "dc",
            Field::Username => "username",
            Field::Password => "password",
            Field::PasswordFile => "password_file",
            Field::Ca => "ca",
            Field::Cert => "cert",
            Field::Key => "key",
            Field::SkipHostnameCheck => "skip_hostname_check",
            Field::TlsServerName => "tls_server_name",
        }
    }

    /// The long flag, without dashes: `source-port`.
    pub(crate) fn long(self, side: Side) -> String {
        self.id(side).replace('_', "-")
    }

    /// Other names of the flag (kept from programs that used them),
    /// without dashes.
    pub(crate) fn aliases(self, side: Side) -> Vec<String> {
        let s = side.name();
        match self {
            Field::Datacenter => vec![format!("{s}-local-dc")],
            Field::Cert => vec![format!("{s}-client-cert")],
            Field::Key => vec![format!("{s}-client-key")],
            _ => Vec::new(),
        }
    }

    /// Every spelling accepted in a config file: snake_case and
    /// kebab-case of the flag and of its aliases.
    pub(crate) fn keys(self, side: Side) -> Vec<String> {
        let mut keys = vec![self.id(side), self.long(side)];
        for alias in self.aliases(side) {
            keys.push(alias.replace('-', "_"));
            keys.push(alias);
        }
        keys.dedup();
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_existing_flags() {
        assert_eq!(Field::Hosts.id(Side::Source), "source");
        assert_eq!(Field::DisableTls.long(Side::Target), "disable-target-tls");
        assert_eq!(
            Field::PasswordFile.long(Side::Source),
            "source-password-file"
        );
        assert_eq!(
            Field::Cert.keys(Side::Target),
            [
                "target_cert",
                "target-cert",
                "target_client_cert",
                "target-client-cert"
            ]
        );
        assert_eq!(Field::Hosts.keys(Side::Source), ["source"]);
    }
}
