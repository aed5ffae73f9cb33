//! `message_enum!`: the `Request` and `Response` enums, one variant per
//! opcode, each wrapping that message's type.
//!
//! Each variant is named after its [`Opcode`](crate::Opcode), so the enum,
//! its `opcode()` and its `From` impls all follow from one list; written by
//! hand they were three lists per enum that had to be kept in step.

/// Declares `pub enum $name` with rows `Variant(Type),`, where `Variant` is
/// also the name of an `Opcode` variant, and writes `pub fn opcode(&self)`
/// and `From<Type>` for each row.
macro_rules! message_enum {
    (
        $(#[$enum_meta:meta])*
        pub enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident($ty:ty), )+
        }
    ) => {
        $(#[$enum_meta])*
        pub enum $name {
            $( $(#[$variant_meta])* $variant($ty), )+
        }

        impl $name {
            /// The opcode this message travels under.
            pub fn opcode(&self) -> $crate::opcode::Opcode {
                match self {
                    $(Self::$variant(_) => $crate::opcode::Opcode::$variant,)+
                }
            }
        }

        $(impl From<$ty> for $name {
            fn from(m: $ty) -> Self {
                Self::$variant(m)
            }
        })+
    };
}
