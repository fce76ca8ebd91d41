// Command interop runs tests/interop/scenarios.json against a live llmspell-sessions server through
// the Go client, as described in tests/interop/README.md:
//
//	interop --target HOST:PORT --scenarios scenarios.json --lang go --out results.json [--verify shared.json ...]
//
// It prints "ok NAME" or "FAIL NAME: why" per scenario, then "interop: N passed, M failed", and
// exits 1 if any scenario failed.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/llmspell/llmspell-sessions/clients/go/sessions"
)

// verifyFlags collects repeated --verify values.
type verifyFlags []string

// String lists the files given so far.
func (v *verifyFlags) String() string { return strings.Join(*v, ",") }

// Set adds one --verify file.
func (v *verifyFlags) Set(s string) error { *v = append(*v, s); return nil }

func main() {
	target := flag.String("target", envOr("LLMSPELL_SESSION_ADDRESS", "127.0.0.1:50051"), "server HOST:PORT")
	targetAuth := flag.String("target-auth", "", "HOST:PORT of the server with tokens, for the \"server\": \"auth\" scenarios")
	scenarios := flag.String("scenarios", "tests/interop/scenarios.json", "scenario file")
	lang := flag.String("lang", "go", "this driver's language, substituted for $lang")
	out := flag.String("out", "", "write {lang, shared, results} JSON here")
	timeout := flag.Duration("timeout", time.Minute, "deadline of each step")
	var verify verifyFlags
	flag.Var(&verify, "verify", "a results file of another driver whose shared artifacts to check (repeatable)")
	flag.Parse()
	os.Exit(run(*target, *targetAuth, *scenarios, *lang, *out, *timeout, verify))
}

func run(target, targetAuth, scenarioPath, lang, outPath string, timeout time.Duration, verify []string) int {
	ctx := context.Background()
	var file scenarioFile
	if err := readJSON(scenarioPath, &file); err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 2
	}
	c, err := sessions.Dial(ctx, target, sessions.WithToken(os.Getenv("LLMSPELL_SESSION_TOKEN")))
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 2
	}
	defer c.Close()
	r := &runner{clients: map[string]*sessions.Client{"main": c}, tokens: file.Tokens, lang: lang, timeout: timeout}
	if targetAuth != "" { // one connection per server; tokens go per call
		auth, err := sessions.Dial(ctx, targetAuth)
		if err != nil {
			fmt.Fprintln(os.Stderr, "interop:", err)
			return 2
		}
		defer auth.Close()
		r.clients["auth"] = auth
	}
	results := map[string]string{} // "ok", "skipped" or why the scenario failed, as the Python driver writes it
	passed, failed := 0, 0
	report := func(name string, err error) {
		if errors.Is(err, errSkipped) {
			results[name] = "skipped"
			fmt.Printf("skip %s: %v\n", name, err)
			return
		}
		if err == nil {
			results[name] = "ok"
			passed++
			fmt.Println("ok", name)
			return
		}
		failed++
		results[name] = err.Error()
		fmt.Printf("FAIL %s: %v\n", name, err)
	}
	for _, path := range verify {
		name, err := verifyShared(ctx, c, path, timeout)
		report("verify:"+name, err)
	}
	for _, sc := range file.Scenarios {
		report(sc.Name, r.run(ctx, sc))
	}
	if outPath != "" {
		doc := map[string]any{"lang": lang, "shared": nonNil(r.shared), "results": results}
		if err := writeJSON(outPath, doc); err != nil {
			fmt.Fprintln(os.Stderr, "interop:", err)
			failed++
		}
	}
	fmt.Printf("interop: %d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// verifyShared downloads every artifact another driver shared and checks its digest and size.
// It returns that driver's language (or the file name when unreadable).
func verifyShared(ctx context.Context, c *sessions.Client, path string, timeout time.Duration) (string, error) {
	var doc struct {
		Lang   string           `json:"lang"`
		Shared []sharedArtifact `json:"shared"`
	}
	if err := readJSON(path, &doc); err != nil {
		return path, err
	}
	for _, a := range doc.Shared {
		if err := verifyOne(ctx, c, a, timeout); err != nil {
			return doc.Lang, fmt.Errorf("artifact %s: %w", a.ArtifactID, err)
		}
	}
	return doc.Lang, nil
}

func verifyOne(ctx context.Context, c *sessions.Client, a sharedArtifact, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	w := newHashCounter()
	if _, err := c.Download(ctx, a.ArtifactID, w); err != nil {
		return err
	}
	if w.n != a.Size || w.digest() != a.ContentDigest {
		return fmt.Errorf("got %d bytes %s, shared %d bytes %s", w.n, w.digest(), a.Size, a.ContentDigest)
	}
	return nil
}

func nonNil(s []sharedArtifact) []sharedArtifact {
	if s == nil {
		return []sharedArtifact{}
	}
	return s
}

func readJSON(path string, v any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(raw, '\n'), 0o644)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
