//! Artifacts: stream an upload from an `AsyncRead`, download it whole and in part, store a second
//! version, then upload a file by deduplicated chunks twice and download it verified into a file.
//!
//! Run: `LLMSPELL_SESSION_ADDRESS=127.0.0.1:50051 cargo run --example artifacts`
//! (from clients/rust). Exits non-zero on any failure.

use llmspell_sessions_client::pb::{self, ArtifactType};
use llmspell_sessions_client::{Client, Error};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Error> {
    let client = Client::from_env().await?;
    let session = client
        .create_session(pb::CreateSessionRequest {
            name: "rust-artifacts-example".into(),
            ..Default::default()
        })
        .await?;

    let content: Vec<u8> = (0..3 * 1024 * 1024 + 17)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let header = pb::UploadHeader {
        session_id: session.session_id.clone(),
        name: "report.bin".into(),
        r#type: ArtifactType::ToolResult as i32,
        mime_type: "application/octet-stream".into(),
        expected_size: content.len() as i64,
        ..Default::default()
    };
    let artifact = client
        .upload_artifact(header.clone(), std::io::Cursor::new(content.clone()))
        .await?;
    println!(
        "uploaded {} v{}: {} bytes, {} stored, digest {}",
        artifact.name,
        artifact.version,
        artifact.size,
        artifact.stored_size,
        artifact.content_digest
    );

    let mut whole = Vec::new();
    client
        .download_artifact(&artifact.artifact_id, &mut whole)
        .await?;
    let mut part = Vec::new();
    client
        .download_artifact_range(&artifact.artifact_id, 1000, 64, &mut part)
        .await?;
    if whole != content || part != content[1000..1064] {
        return Err(Error::Integrity(
            "downloaded bytes differ from the upload".into(),
        ));
    }
    println!(
        "downloaded {} bytes and a 64-byte range intact",
        whole.len()
    );

    let second = client
        .store_artifact(
            pb::UploadHeader {
                expected_size: 5,
                ..header
            },
            b"hello".to_vec(),
        )
        .await?;
    println!(
        "stored {} v{} (previous digest {})",
        second.name, second.version, second.previous_digest
    );
    let listed = client
        .list_artifacts(pb::ListArtifactsRequest {
            session_id: session.session_id.clone(),
            ..Default::default()
        })
        .await?;
    println!("{} artifact(s) listed", listed.artifacts.len());

    // Deduplicated upload: only the chunks the server lacks travel; the second time, none do.
    let dir = std::env::temp_dir().join(format!("llmspell-rust-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("dataset.bin");
    std::fs::write(&path, &content)?;
    let header = pb::UploadHeader {
        session_id: session.session_id.clone(),
        name: "dataset.bin".into(),
        ..Default::default()
    };
    let first = client.upload_deduplicated(header.clone(), &path).await?;
    let again = client.upload_deduplicated(header, &path).await?;
    println!(
        "dedup upload: {} chunks, {} bytes sent the first time, {} the second",
        first.chunks, first.sent_bytes, again.sent_bytes
    );
    let copy = dir.join("copy.bin");
    client
        .download_file(&again.artifact.artifact_id, &copy)
        .await?;
    let intact = std::fs::read(&copy)? == content;
    std::fs::remove_dir_all(&dir)?;
    if again.sent_bytes != 0 || !intact {
        return Err(Error::Integrity(
            "dedup upload or verified download went wrong".into(),
        ));
    }
    println!(
        "verified download of v{} into a file",
        again.artifact.version
    );
    client.delete_session(&session.session_id, None).await?; // examples leave nothing behind
    Ok(())
}
