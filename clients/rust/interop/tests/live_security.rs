//! Live: TLS against a real server with a certificate made here, tokens, per-session grants.

mod common;

use common::{make_certs, sha256_hex, skipped, temp_dir, Server};
use llmspell_sessions_client::pb::{self, SessionAccess};
use llmspell_sessions_client::tls::{Certificate, ClientTlsConfig};
use llmspell_sessions_client::{Client, Code};

/// alice and carol write, root administers, all in tenant `t`.
fn token_config(dir: &std::path::Path) -> std::path::PathBuf {
    let mut text = String::new();
    for (token, subject, role) in
        [("alice-w", "alice", "writer"), ("carol-w", "carol", "writer"), ("root", "root", "admin")]
    {
        let digest = sha256_hex(token);
        text += &format!(
            "[[auth.tokens]]\nsha256 = \"{digest}\"\nsubject = \"{subject}\"\ntenant = \"t\"\nrole = \"{role}\"\n\n"
        );
    }
    let path = dir.join("server.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn tls_with_a_token_reaches_a_server_with_a_self_signed_ca() {
    if skipped() {
        return;
    }
    let certs = temp_dir("certs");
    let (ca, cert, key) = make_certs(&certs);
    let config = token_config(&certs);
    let server = Server::start_with(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    let port = server.address.rsplit(':').next().unwrap().to_owned();
    let tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(std::fs::read(&ca).unwrap()));

    let client = Client::connect(format!("localhost:{port}")).tls(tls.clone()).token("alice-w").await.unwrap();
    let session = client
        .create_session(pb::CreateSessionRequest { name: "over tls".into(), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(session.created_by, "alice");

    let by_ip = Client::connect(format!("https://127.0.0.1:{port}")).tls(tls.clone()).token("alice-w").await.unwrap();
    assert_eq!(by_ip.get_session(&session.session_id).await.unwrap().name, "over tls");

    // Without the CA the server's certificate is not trusted; without TLS the handshake fails.
    let untrusted = Client::connect(format!("https://localhost:{port}")).token("alice-w").build_lazy().unwrap();
    let err = untrusted.get_session(&session.session_id).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    let plain = Client::connect(format!("127.0.0.1:{port}")).token("alice-w").build_lazy().unwrap();
    assert!(plain.get_session(&session.session_id).await.is_err());
    let anonymous = Client::connect(format!("localhost:{port}")).tls(tls).await.unwrap();
    assert_eq!(anonymous.get_session(&session.session_id).await.unwrap_err().code(), Code::Unauthenticated);
    let _ = std::fs::remove_dir_all(certs);
}

#[tokio::test]
async fn grants_let_another_subject_read_then_write_until_revoked() {
    if skipped() {
        return;
    }
    let dir = temp_dir("grants");
    let config = token_config(&dir);
    let server = Server::start_with(&["--config", config.to_str().unwrap()]);
    let connect = |token: &str| Client::connect(server.address.clone()).token(token).build_lazy().unwrap();
    let (alice, carol, root) = (connect("alice-w"), connect("carol-w"), connect("root"));
    let session =
        alice.create_session(pb::CreateSessionRequest { name: "alice's".into(), ..Default::default() }).await.unwrap();
    let id = session.session_id.as_str();

    let denied = carol.get_session(id).await.unwrap_err();
    assert_eq!((denied.code(), denied.reason()), (Code::PermissionDenied, Some("ACCESS_DENIED")));
    let refused = alice.grant_session_access(id, "carol", SessionAccess::Read).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "only admins grant");

    root.grant_session_access(id, "carol", SessionAccess::Read).await.unwrap();
    assert_eq!(carol.get_session(id).await.unwrap().name, "alice's");
    let update = llmspell_sessions_client::StateUpdate::new().set("x", serde_json::json!(1));
    assert_eq!(carol.set_session_state(id, update.clone()).await.unwrap_err().code(), Code::PermissionDenied);

    root.grant_session_access(id, "carol", SessionAccess::Write).await.unwrap();
    carol.set_session_state(id, update).await.unwrap();
    root.revoke_session_access(id, "carol").await.unwrap();
    assert_eq!(carol.get_session_state(id, &[]).await.unwrap_err().code(), Code::PermissionDenied);
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}
