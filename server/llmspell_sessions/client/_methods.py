"""Full names of the streaming methods the clients call with their own serializers (messages
written or read as wire bytes, see ``wire.raw`` and ``wire.replay``), instead of through the stubs."""

UPLOAD_ARTIFACT = "/llmspell.sessions.v1.ArtifactService/UploadArtifact"
DOWNLOAD_ARTIFACT = "/llmspell.sessions.v1.ArtifactService/DownloadArtifact"
SUBSCRIBE_EVENTS = "/llmspell.sessions.v1.ReplayService/SubscribeEvents"
REPLAY_SESSION = "/llmspell.sessions.v1.ReplayService/ReplaySession"
