//! The NATS `.creds` file: a user JWT and the user's nkey seed between marker lines, in the layout
//! `nsc` writes and NATS clients (async-nats `credentials_file`) parse.

/// A `.creds` file for `user_jwt` and `user_seed`.
pub fn credentials_file(user_jwt: &str, user_seed: &str) -> String {
    format!(
        "-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n\
         ************************* IMPORTANT *************************\n\
         NKEY Seed printed below can be used to sign and prove identity.\n\
         NKEYs are sensitive and should be treated as secrets.\n\n\
         -----BEGIN USER NKEY SEED-----\n{user_seed}\n------END USER NKEY SEED------\n\n\
         *************************************************************\n"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn credentials_file_has_the_markers_nats_clients_parse() {
        let text = super::credentials_file("eyJ.a.b", "SUXYZ");
        assert!(text.starts_with("-----BEGIN NATS USER JWT-----\neyJ.a.b\n------END NATS USER JWT------\n"));
        assert!(text.contains("-----BEGIN USER NKEY SEED-----\nSUXYZ\n------END USER NKEY SEED------\n"));
    }
}
