//! The single sign-on provider's discovery document, fetched on first use by `services::sso` (and
//! again after a failure), then kept for the life of the process.

#[derive(Debug, Default)]
pub struct Discovery {
    pub document: tokio::sync::OnceCell<openidconnect::core::CoreProviderMetadata>,
}
