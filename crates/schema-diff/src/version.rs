//! Server flavours and versions, as `SELECT VERSION()` reports them: the
//! types live in `server-dialect`, the one home of what differs between
//! servers; they are re-exported here so that schema-diff's API keeps them
//! where it always had them.

pub use server_dialect::version::{Flavor, ServerVersion};
