//! The clap definitions of the connection flags. clap's derive cannot
//! prefix a flattened struct, so the flags of both sides are built here
//! from one template, with the names and help text of each side filled in.

use std::path::PathBuf;

use clap::{Arg, ArgAction};

use crate::field::Field;
use crate::{HostsArg, Profile, Side, TlsDefault};

impl Profile {
    /// The flags of every side of this profile, in help order: hosts,
    /// ports and datacenters of both sides, then the login of each side,
    /// then the TLS flags.
    pub fn args(&self) -> Vec<Arg> {
        let mut args = Vec::new();
        let mut add_each = |fields: &[Field], per_side_first: bool| {
            if per_side_first {
                for &side in self.sides {
                    for &f in fields {
                        args.extend(self.arg(f, side));
                    }
                }
            } else {
                for &f in fields {
                    for &side in self.sides {
                        args.extend(self.arg(f, side));
                    }
                }
            }
        };
        add_each(&[Field::Hosts, Field::Port, Field::Datacenter], false);
        add_each(
            &[Field::Username, Field::Password, Field::PasswordFile],
            true,
        );
        add_each(&[Field::DisableTls, Field::Ca], false);
        add_each(&[Field::Cert, Field::Key], true);
        add_each(&[Field::SkipHostnameCheck, Field::TlsServerName], false);
        args
    }

    /// The flag of one field of one side, if this profile has it.
    fn arg(&self, field: Field, side: Side) -> Option<Arg> {
        if !self.has(field) {
            return None;
        }
        let id = field.id(side);
        let mut arg = Arg::new(id.clone());
        if !(field == Field::Hosts && self.hosts == HostsArg::Positional) {
            arg = arg.long(field.long(side));
        }
        for alias in field.aliases(side) {
            arg = arg.visible_alias(alias);
        }
        arg = match field {
            Field::DisableTls | Field::SkipHostnameCheck => arg.action(ArgAction::SetTrue),
            Field::Port => arg
                .value_name("PORT")
                .value_parser(clap::value_parser!(u16)),
            Field::Ca | Field::Cert | Field::Key | Field::PasswordFile => arg
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf)),
            Field::Hosts => arg.value_name(match self.hosts {
                HostsArg::List => "HOSTS",
                HostsArg::Positional => side.upper(),
                HostsArg::RequiredSingle => "HOST",
            }),
            Field::Datacenter => arg.value_name("DC"),
            Field::Username => arg.value_name("USER"),
            Field::Password => arg.value_name("PASSWORD"),
            Field::TlsServerName => arg.value_name("NAME"),
        };
        match field {
            Field::Username => arg = arg.env(side.env_var("USERNAME")).hide_env_values(true),
            Field::Password => arg = arg.env(side.env_var("PASSWORD")).hide_env_values(true),
            Field::Hosts if self.hosts == HostsArg::RequiredSingle => arg = arg.required(true),
            _ => {}
        }
        let heading = match field {
            Field::Hosts | Field::Port | Field::Datacenter => self.headings.clusters,
            Field::Username | Field::Password | Field::PasswordFile => self.headings.auth,
            _ => self.headings.tls,
        };
        arg = arg.help_heading(heading);
        let mut help = match self.help_for(&id) {
            Some(text) => text.to_owned(),
            None => self.help(field, side),
        };
        // The way clap's derive shows a doc comment, so these flags read
        // like the programs' other ones.
        if help.ends_with('.') {
            help.pop();
        }
        Some(arg.help(help))
    }

    /// The standard help text of a flag.
    fn help(&self, field: Field, side: Side) -> String {
        let s = side.name();
        let env = side.env_var("PASSWORD");
        let single = self.hosts != HostsArg::List;
        match field {
            Field::Hosts => match (self.hosts, side) {
                (HostsArg::List, _) => {
                    let cap = match side {
                        Side::Source => "Source",
                        Side::Target => "Target",
                    };
                    format!("{cap} contact points: HOST, HOST:PORT, comma-separated.")
                }
                (HostsArg::Positional, Side::Source) => {
                    "Host of the source cluster (the one the application uses today).".into()
                }
                (HostsArg::Positional, Side::Target) => {
                    "Host of the target cluster (the one being migrated to).".into()
                }
                (HostsArg::RequiredSingle, _) => format!("Host of the {s}."),
            },
            Field::Port if single => format!("CQL port of the {s} [default: 9042]."),
            Field::Port => {
                format!("Native protocol port of {s} nodes given without one [default: 9042].")
            }
            Field::Datacenter => {
                format!("The {s}'s local datacenter: its nodes are used first [default: any node].")
            }
            Field::Username => format!("User for the {s} (PasswordAuthenticator)."),
            Field::Password => format!(
                "Password for the {s}. Prefer {env} or --{s}-password-file: a command line is \
                 visible in `ps`."
            ),
            Field::PasswordFile => format!("File holding the {s} password (first line)."),
            Field::DisableTls => match self.tls {
                TlsDefault::On => format!("Connect to the {s} without TLS (TLS is on by default)."),
                TlsDefault::WhenCaGiven => {
                    format!("Connect to the {s} without TLS even if a CA is given.")
                }
            },
            Field::Ca => match self.tls {
                TlsDefault::On => format!(
                    "PEM file of the CA(s) that signed the {s} nodes' certificates (needed \
                     unless --disable-{s}-tls)."
                ),
                TlsDefault::WhenCaGiven => format!(
                    "PEM file of the CA(s) that signed the {s} nodes' certificates: connects \
                     with TLS."
                ),
            },
            Field::Cert => format!(
                "Client certificate (PEM) presented to {s} nodes that require one; needs \
                 --{s}-key."
            ),
            Field::Key => format!("Private key (PEM) of --{s}-cert."),
            Field::SkipHostnameCheck => format!(
                "Accept {s} certificates that do not name the node (the CA chain is still \
                 checked)."
            ),
            Field::TlsServerName => {
                format!("Name the {s} nodes' certificates must carry [default: the host dialled].")
            }
        }
    }
}
