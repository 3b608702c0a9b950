// Command vcsim-ext is a small test-only vCenter simulator built on govmomi's
// simulator package (default VPX model: DC0, cluster DC0_C0, LocalDS_0, ...).
//
// Unlike plain vcsim it can set facts that the vSphere API cannot:
//
//	-username/-password   only this login is accepted (default user "user", password "pass");
//	                      wrong credentials get InvalidLogin. Env: VCSIM_USERNAME, VCSIM_PASSWORD.
//	-edition KEY          editionKey of the (only) licence, e.g. "esxBasic" (default "eval"). Env: VCSIM_EDITION.
//	-session-timeout D    idle session timeout (Go duration, e.g. 30s); 0 = never. Env: VCSIM_SESSION_TIMEOUT.
//	-readonly-datastore NAME[@HOST]      mount a datastore readOnly (on every host, or on HOST only). Repeatable.
//	-inaccessible-datastore NAME[@HOST]  mark a datastore inaccessible (everywhere, or on HOST only). Repeatable.
//	-deny-privilege PRIV[@ENTITY]        answer isGranted=false for PRIV (on every entity, or ENTITY by name)
//	                                     in HasPrivilegeOnEntity/-Entities and HasUserPrivilegeOnEntities,
//	                                     and drop it from FetchUserPrivilegeOnEntities. Repeatable.
//	                                     Quirk: vcsim's XML encoder drops `false` items of the []bool
//	                                     HasPrivilegeOnEntity answer; use the -Entities forms.
//	-admin ADDR           also serve a plain-HTTP admin endpoint (default 127.0.0.1:0, "" = off):
//	                      POST /datastore?name=N[&host=H]&mode=readOnly|readWrite&accessible=true|false
//	                      POST /deny?priv=P[&entity=E]   POST /allow?priv=P[&entity=E]
//	                      GET /logins -> {"attempts": N, "failed": M} (SOAP Login calls so far)
//	-l ADDR               SOAP listen address (default 127.0.0.1:0 = free port). TLS is always on;
//	-tlscert/-tlskey      PEM files for the serving certificate (default: Go's httptest localhost cert).
//	-cert-out PATH        write the serving certificate (PEM) to PATH, for clients that pin/trust it.
//
// Once listening it prints, each on one line of stdout:
//
//	VCSIM_URL=https://127.0.0.1:PORT/sdk
//	VCSIM_ADMIN_URL=http://127.0.0.1:PORT   (only with -admin)
//	VCSIM_READY
//
// It stops cleanly (removing its temp folders) on SIGINT or SIGTERM.
package main

import (
	"crypto/tls"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	if err := run(os.Args[1:], os.Stdout, sig); err != nil {
		log.Fatalf("vcsim-ext: %v", err)
	}
}

// run starts the simulator with args, prints the URL lines to out and serves until stop fires.
func run(args []string, out io.Writer, stop <-chan os.Signal) error {
	flag := flag.NewFlagSet("vcsim-ext", flag.ContinueOnError)
	listen := flag.String("l", "127.0.0.1:0", "SOAP listen address")
	user := flag.String("username", env("VCSIM_USERNAME", "user"), "the only accepted login user")
	pass := flag.String("password", env("VCSIM_PASSWORD", "pass"), "the only accepted login password")
	edition := flag.String("edition", env("VCSIM_EDITION", simulator.EvalLicense.EditionKey), "licence editionKey")
	timeout := flag.String("session-timeout", env("VCSIM_SESSION_TIMEOUT", "0"), "idle session timeout (0 = never)")
	admin := flag.String("admin", env("VCSIM_ADMIN", "127.0.0.1:0"), "admin HTTP listen address (empty = off)")
	cert := flag.String("tlscert", "", "PEM certificate file")
	key := flag.String("tlskey", "", "PEM key file")
	certOut := flag.String("cert-out", "", "write the serving certificate PEM here")
	var readonly, inaccessible, deny multi
	flag.Var(&readonly, "readonly-datastore", "NAME[@HOST] to mount readOnly (repeatable)")
	flag.Var(&inaccessible, "inaccessible-datastore", "NAME[@HOST] to mark inaccessible (repeatable)")
	flag.Var(&deny, "deny-privilege", "PRIV[@ENTITY] to deny (repeatable)")
	if err := flag.Parse(args); err != nil {
		return err
	}
	if *user == "" || *pass == "" {
		return fmt.Errorf("-username and -password must not be empty")
	}
	idle, err := time.ParseDuration(*timeout)
	if err != nil {
		return fmt.Errorf("bad -session-timeout: %v", err)
	}

	// Facts that must be set before the model is created.
	simulator.EvalLicense.EditionKey = *edition

	model := simulator.VPX()
	if err := model.Create(); err != nil {
		return err
	}
	defer model.Remove()
	model.Service.RegisterEndpoints = true
	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*user, *pass)}
	model.Service.TLS = new(tls.Config)
	if *cert != "" {
		c, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			return err
		}
		model.Service.TLS.Certificates = []tls.Certificate{c}
	}

	st := newState(model)
	for _, spec := range readonly {
		name, host, _ := strings.Cut(spec, "@")
		if err := st.setDatastore(name, host, "readOnly", ""); err != nil {
			return err
		}
	}
	for _, spec := range inaccessible {
		name, host, _ := strings.Cut(spec, "@")
		if err := st.setDatastore(name, host, "", "false"); err != nil {
			return err
		}
	}
	for _, spec := range deny {
		priv, entity, _ := strings.Cut(spec, "@")
		st.deny(priv, entity, true)
	}

	s := model.Service.NewServer()
	defer s.Close()
	// Swapped before VCSIM_READY is printed, so no request has been served yet; http.Server reads its
	// Handler per request.
	s.Config.Handler = st.logins.wrap(s.Config.Handler)
	if idle > 0 {
		// govmomi >= 0.4x reads the idle timeout from this OptionManager setting at login.
		model.Map().OptionManager().UpdateOptions(&types.UpdateOptions{
			ChangedValue: []types.BaseOptionValue{&types.OptionValue{
				Key: "config.vmacore.soap.sessionTimeout", Value: idle.String(),
			}},
		})
	}
	if *certOut != "" {
		pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
		if err := os.WriteFile(*certOut, pemBytes, 0o644); err != nil {
			return err
		}
	}

	u := *s.URL
	u.User = nil
	fmt.Fprintf(out, "VCSIM_URL=%s\n", u.String())
	if *admin != "" {
		l, err := net.Listen("tcp", *admin)
		if err != nil {
			return err
		}
		defer l.Close()
		go func() { _ = http.Serve(l, st.adminHandler()) }()
		fmt.Fprintf(out, "VCSIM_ADMIN_URL=http://%s\n", l.Addr().String())
	}
	fmt.Fprintln(out, "VCSIM_READY")
	<-stop
	return nil
}
