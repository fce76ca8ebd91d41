package sessions

import pb "github.com/llmspell/llmspell-sessions/clients/go/gen/llmspell/sessions/v1"

// Checkpoint is a named point in a session's history (the generated sessionsv1.Checkpoint).
type Checkpoint = pb.Checkpoint

// UploadHeader describes an artifact to be written, everything but its bytes.
type UploadHeader = pb.UploadHeader

// ListSessionsRequest holds the filters, order and page size of ListSessions.
type ListSessionsRequest = pb.ListSessionsRequest

// ListArtifactsRequest holds the filters, order and page size of ListArtifacts.
type ListArtifactsRequest = pb.ListArtifactsRequest

// ListEventsRequest holds the session, the seq to start after, type prefixes and page size of ListEvents.
type ListEventsRequest = pb.ListEventsRequest

// SessionState is the lifecycle state of a session.
type SessionState = pb.SessionState

// ArtifactType says what produced an artifact.
type ArtifactType = pb.ArtifactType

// Session states, re-exported from sessionsv1.
const (
	StateActive    = pb.SessionState_SESSION_STATE_ACTIVE
	StateSuspended = pb.SessionState_SESSION_STATE_SUSPENDED
	StateCompleted = pb.SessionState_SESSION_STATE_COMPLETED
	StateFailed    = pb.SessionState_SESSION_STATE_FAILED
	StateArchived  = pb.SessionState_SESSION_STATE_ARCHIVED
)

// Artifact types, re-exported from sessionsv1.
const (
	TypeAgentOutput     = pb.ArtifactType_ARTIFACT_TYPE_AGENT_OUTPUT
	TypeToolResult      = pb.ArtifactType_ARTIFACT_TYPE_TOOL_RESULT
	TypeUserInput       = pb.ArtifactType_ARTIFACT_TYPE_USER_INPUT
	TypeSystemGenerated = pb.ArtifactType_ARTIFACT_TYPE_SYSTEM_GENERATED
	TypeCustom          = pb.ArtifactType_ARTIFACT_TYPE_CUSTOM
)
