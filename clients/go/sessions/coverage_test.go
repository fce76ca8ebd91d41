package sessions

import (
	"reflect"
	"testing"

	pb "github.com/llmspell/llmspell-sessions/clients/go/gen/llmspell/sessions/v1"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// wrapperNames maps the RPCs whose wrapper has another name to that name.
var wrapperNames = map[string]string{
	"SetSessionState":  "SetState",
	"GetSessionState":  "GetState",
	"UploadArtifact":   "Upload",
	"DownloadArtifact": "Download",
}

func TestEveryRPCHasAWrapper(t *testing.T) {
	client := reflect.TypeOf(&Client{})
	n := 0
	for _, file := range []protoreflect.FileDescriptor{
		pb.File_llmspell_sessions_v1_session_proto, pb.File_llmspell_sessions_v1_artifact_proto, pb.File_llmspell_sessions_v1_replay_proto,
	} {
		for i := 0; i < file.Services().Len(); i++ {
			methods := file.Services().Get(i).Methods()
			for j := 0; j < methods.Len(); j++ {
				name := string(methods.Get(j).Name())
				n++
				if w, ok := wrapperNames[name]; ok {
					name = w
				}
				if _, ok := client.MethodByName(name); !ok {
					t.Errorf("no Client.%s for RPC %s", name, methods.Get(j).FullName())
				}
			}
		}
	}
	if n != 44 {
		t.Errorf("%d RPCs in the protos, this test expects 44: update it", n)
	}
}
