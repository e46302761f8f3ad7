package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/crmsync/crmsync/mallcoo/mallcootest"
)

// mockCommand serves the fake Mallcoo API, for trying crmsync without the
// real one: point -base-url at it with the sandbox credentials.
type mockCommand struct{ *env }

func (c *mockCommand) Run(ctx context.Context, args []string) error {
	fs := c.newFlags("mock")
	addr := fs.String("addr", "127.0.0.1:8931", "`address` to listen on")
	latency := fs.Duration("latency", 0, "added to every answer")
	failRate := fs.Float64("fail-rate", 0, "share of requests answered HTTP 503")
	dropRate := fs.Float64("drop-rate", 0, "share of connections dropped without an answer")
	// Where the vendor's page says nothing, the fake can answer as the
	// real API might; the defaults are the strict sandbox.
	authStatus := fs.Int("auth-status", http.StatusUnauthorized, "HTTP `status` of an answer refusing the credentials or the Sign (200: HTTP 200 with -auth-code)")
	authCode := fs.Int("auth-code", mallcootest.CodeAuth, "business `Code` of an answer refusing the credentials or the Sign")
	acceptDup := fs.Bool("accept-duplicates", false, "accept a repeated TransID silently (Code 1) instead of Code 1001")
	ignoreUnknown := fs.Bool("ignore-unknown", false, "accept fields an endpoint lacks instead of refusing the body")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *authStatus < 100 || *authStatus > 599 {
		return usagef("-auth-status %d: want an HTTP status such as 401 or 200", *authStatus)
	}
	if *authCode == mallcootest.CodeOK {
		return usagef("-auth-code 1 is Mallcoo's success: want another Code")
	}
	h := mallcootest.NewHandler(mallcootest.Options{MaxRecorded: 1000, Latency: *latency, FailRate: *failRate, DropRate: *dropRate,
		AuthStatus: *authStatus, AuthCode: *authCode, AcceptDuplicates: *acceptDup, IgnoreUnknown: *ignoreUnknown})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	if a, ok := ln.Addr().(*net.TCPAddr); ok && !a.IP.IsLoopback() {
		c.logger.Warn("crmsync mock listens beyond this machine: its sample keys are public, anyone who reaches it can use it; crmsync sends plain http:// only to a loopback address", "addr", ln.Addr().String())
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	cr := mallcootest.Sandbox
	fmt.Fprintf(c.stderr, "crmsync mock: fake Mallcoo API on http://%s\n", ln.Addr())
	fmt.Fprintf(c.stderr, "  MALLCOO_BASE_URL=http://%s MALLCOO_APP_ID=%s MALLCOO_PUBLIC_KEY=%s MALLCOO_PRIVATE_KEY=%s (public sample keys: test data only)\n", ln.Addr(), cr.AppID, cr.PublicKey, cr.PrivateKey)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
