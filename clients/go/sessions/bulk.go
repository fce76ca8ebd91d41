package sessions

import (
	"context"

	pb "github.com/llmspell/llmspell-sessions/clients/go/gen/llmspell/sessions/v1"
)

// BulkAction is what BulkSessionAction does to each session it selects.
type BulkAction = pb.BulkAction

// Bulk actions, re-exported from sessionsv1: each is the single call of the same name.
const (
	BulkComplete = pb.BulkAction_BULK_ACTION_COMPLETE
	BulkFail     = pb.BulkAction_BULK_ACTION_FAIL
	BulkArchive  = pb.BulkAction_BULK_ACTION_ARCHIVE
	BulkDelete   = pb.BulkAction_BULK_ACTION_DELETE
)

// BulkSessionActionRequest selects sessions with a ListSessions filter (its paging fields unset)
// and names the action, the fail reason, dry run, the page size and the page token.
type BulkSessionActionRequest = pb.BulkSessionActionRequest

// BulkResult is what one BulkSessionAction call changed (or would, on a dry run) and skipped,
// with the token of the next page ("" at the end).
type BulkResult = pb.BulkSessionActionResponse

// BulkSessionAction completes, fails, archives or deletes one page of the sessions req's filter
// selects (oldest first), each through the single call's rules; a refused session is skipped with
// its reason. Send NextPageToken back as req.PageToken to go on.
func (c *Client) BulkSessionAction(ctx context.Context, req *BulkSessionActionRequest) (*BulkResult, error) {
	resp, err := c.SessionService.BulkSessionAction(ctx, req)
	if err != nil {
		return nil, wrapErr(err)
	}
	return resp, nil
}
