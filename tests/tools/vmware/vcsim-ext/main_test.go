// main_test.go: proves each vcsim-ext knob through the vSphere API (run: go test ./vcsim-ext).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/license"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// start runs vcsim-ext in-process and returns its SOAP and admin URLs.
func start(t *testing.T, args ...string) (soapURL, adminURL string) {
	t.Helper()
	r, w := io.Pipe()
	stop := make(chan os.Signal)
	done := make(chan error, 1)
	go func() { done <- run(args, w, stop); w.Close() }()
	t.Cleanup(func() {
		close(stop)
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	lines := bufio.NewScanner(r)
	for lines.Scan() {
		k, v, _ := strings.Cut(lines.Text(), "=")
		switch k {
		case "VCSIM_URL":
			soapURL = v
		case "VCSIM_ADMIN_URL":
			adminURL = v
		case "VCSIM_READY":
			go io.Copy(io.Discard, r)
			return soapURL, adminURL
		}
	}
	t.Fatalf("vcsim-ext stopped before VCSIM_READY: %v", <-done)
	return "", ""
}

func login(ctx context.Context, t *testing.T, raw, user, pass string) (*govmomi.Client, error) {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(user, pass)
	return govmomi.NewClient(ctx, u, true)
}

func datastore(ctx context.Context, t *testing.T, c *govmomi.Client) mo.Datastore {
	ds, err := find.NewFinder(c.Client).Datastore(ctx, "/DC0/datastore/LocalDS_0")
	if err != nil {
		t.Fatal(err)
	}
	var obj mo.Datastore
	if err := ds.Properties(ctx, ds.Reference(), []string{"summary", "host"}, &obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

func TestOnlyTheConfiguredCredentialsLogIn(t *testing.T) {
	ctx := context.Background()
	u, _ := start(t, "-username", "admin@test", "-password", "s3cret")
	if _, err := login(ctx, t, u, "admin@test", "wrong"); err == nil {
		t.Fatal("a wrong password logged in")
	}
	c, err := login(ctx, t, u, "admin@test", "s3cret")
	if err != nil {
		t.Fatalf("the right password was rejected: %v", err)
	}
	_ = c.Logout(ctx)
}

func TestLoginAttemptsAndFailuresAreCountedOnTheAdminEndpoint(t *testing.T) {
	ctx := context.Background()
	u, admin := start(t, "-username", "admin@test", "-password", "s3cret")
	if _, err := login(ctx, t, u, "admin@test", "wrong"); err == nil {
		t.Fatal("a wrong password logged in")
	}
	c, err := login(ctx, t, u, "admin@test", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Logout(ctx)
	resp, err := http.Get(admin + "/logins")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]int
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got["attempts"] != 2 || got["failed"] != 1 {
		t.Fatalf("logins %v, want 2 attempts of which 1 failed", got)
	}
}

func TestEditionReadOnlyDatastoreAndDeniedPrivilegeAreVisibleThroughTheAPI(t *testing.T) {
	ctx := context.Background()
	u, admin := start(t, "-edition", "esxBasic", "-readonly-datastore", "LocalDS_0@DC0_C0_H1",
		"-deny-privilege", "Datastore.AllocateSpace@LocalDS_0")
	c, err := login(ctx, t, u, "user", "pass")
	if err != nil {
		t.Fatal(err)
	}
	lics, err := license.NewManager(c.Client).List(ctx)
	if err != nil || len(lics) == 0 || lics[0].EditionKey != "esxBasic" {
		t.Fatalf("licences %+v, err %v", lics, err)
	}

	ds := datastore(ctx, t, c)
	readOnly := 0
	for _, m := range ds.Host {
		if m.MountInfo.AccessMode == "readOnly" {
			readOnly++
		}
	}
	if readOnly != 1 || !ds.Summary.Accessible {
		t.Fatalf("want exactly one readOnly mount and accessible, got %d, %+v", readOnly, ds.Host)
	}

	sess, err := c.SessionManager.UserSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// HasPrivilegeOnEntities: vcsim's XML encoder drops `false` elements of the []bool answer of
	// HasPrivilegeOnEntity (omitempty applies per element), so only the plural form shows a denial.
	res, err := methods.HasPrivilegeOnEntities(ctx, c.Client, &types.HasPrivilegeOnEntities{
		This: *c.ServiceContent.AuthorizationManager, Entity: []types.ManagedObjectReference{ds.Self},
		SessionId: sess.Key, PrivId: []string{"System.Read", "Datastore.AllocateSpace"},
	})
	if err != nil || len(res.Returnval) != 1 || len(res.Returnval[0].PrivAvailability) != 2 {
		t.Fatalf("unexpected answer %+v (err %v)", res, err)
	}
	got := res.Returnval[0].PrivAvailability
	if !got[0].IsGranted || got[1].IsGranted {
		t.Fatalf("want System.Read granted and Datastore.AllocateSpace denied, got %+v", got)
	}
	// On another entity the privilege is still granted.
	host, err := find.NewFinder(c.Client).HostSystem(ctx, "/DC0/host/DC0_C0/DC0_C0_H0")
	if err != nil {
		t.Fatal(err)
	}
	res, err = methods.HasPrivilegeOnEntities(ctx, c.Client, &types.HasPrivilegeOnEntities{
		This: *c.ServiceContent.AuthorizationManager, Entity: []types.ManagedObjectReference{host.Reference()},
		SessionId: sess.Key, PrivId: []string{"Datastore.AllocateSpace"},
	})
	if err != nil || !res.Returnval[0].PrivAvailability[0].IsGranted {
		t.Fatalf("privilege denied beyond its entity: %+v (err %v)", res, err)
	}

	// The admin endpoint changes facts at run time.
	resp, err := http.Post(admin+"/datastore?name=LocalDS_0&accessible=false", "text/plain", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("admin POST: %v %v", resp, err)
	}
	if datastore(ctx, t, c).Summary.Accessible {
		t.Fatal("datastore still accessible after the admin call")
	}
	resp, _ = http.Post(admin+"/datastore?name=NoSuchDS&accessible=false", "text/plain", nil)
	if resp.StatusCode != 404 {
		t.Fatalf("unknown datastore: want 404, got %d", resp.StatusCode)
	}
}

func TestIdleSessionsExpireAfterTheSessionTimeout(t *testing.T) {
	ctx := context.Background()
	u, _ := start(t, "-session-timeout", "1s")
	c, err := login(ctx, t, u, "user", "pass")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	if s, err := c.SessionManager.UserSession(ctx); err == nil && s != nil {
		t.Fatalf("session still active after idling past the timeout: %+v", s)
	}
}
