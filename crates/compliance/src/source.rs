//! A rule's source text (the document an auditor opens), shared (not copied) by every tax line
//! computed from it. Its own module so the jurisdiction readers (`de`, `uk`) and the rules that
//! hold them do not import each other.

/// A rule's source text.
pub type Source = std::sync::Arc<str>;
