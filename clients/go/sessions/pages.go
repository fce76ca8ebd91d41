package sessions

import (
	"context"
	"iter"

	"google.golang.org/protobuf/proto"
)

// pages yields every item of a paged list call: fetch returns one page and the next page token,
// and iteration stops after the page whose token is empty, at the first error, or when the
// caller breaks out of the loop.
func pages[T any](ctx context.Context, fetch func(ctx context.Context, token string) ([]T, string, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		token := ""
		for {
			items, next, err := fetch(ctx, token)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == "" || next == token { // a repeated token would loop forever
				return
			}
			token = next
		}
	}
}

// cloneRequest copies a list request (nil gives a zero one) so that paging never modifies the caller's.
func cloneRequest[T any, M interface {
	*T
	proto.Message
}](req M) M {
	if req == nil {
		return M(new(T))
	}
	return proto.CloneOf(req)
}
