// state.go: the facts vcsim-ext sets on the simulator's objects (datastore mounts,
// denied privileges) and the admin HTTP endpoint that changes them at run time.
package main

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type state struct {
	model *simulator.Model
	mu    sync.Mutex
	// denied["priv@entityName"] or denied["priv@"] (every entity).
	denied map[string]bool
	logins logins
}

func newState(model *simulator.Model) *state {
	st := &state{model: model, denied: map[string]bool{}}
	// Wrap the AuthorizationManager (same moref) so privilege answers honour st.denied.
	for _, obj := range model.Map().AllReference("AuthorizationManager") {
		model.Map().Put(&authz{AuthorizationManager: obj.(*simulator.AuthorizationManager), st: st})
	}
	return st
}

func (st *state) entity(name, kind string) (mo.Entity, error) {
	for _, e := range st.model.Map().All(kind) {
		if e.Entity().Name == name {
			return e, nil
		}
	}
	return nil, fmt.Errorf("no %s named %q", kind, name)
}

// setDatastore sets mode ("readOnly"/"readWrite", "" = keep) and accessible ("true"/"false",
// "" = keep) for datastore name, on host hostName or on every host when hostName is "".
func (st *state) setDatastore(name, hostName, mode, accessible string) error {
	e, err := st.entity(name, "Datastore")
	if err != nil {
		return err
	}
	ds := e.(*simulator.Datastore)
	var host *types.ManagedObjectReference
	if hostName != "" {
		h, err := st.entity(hostName, "HostSystem")
		if err != nil {
			return err
		}
		ref := h.Reference()
		host = &ref
	}
	ctx := st.model.Service.Context
	st.model.Map().WithLock(ctx, ds, func() {
		mounts := append([]types.DatastoreHostMount(nil), ds.Host...)
		if host != nil && !hasMount(mounts, *host) {
			// vcsim does not list every host that mounts a datastore; add the one asked for.
			mounts = append(mounts, types.DatastoreHostMount{Key: *host, MountInfo: types.HostMountInfo{
				AccessMode: "readWrite", Mounted: types.NewBool(true), Accessible: types.NewBool(true)}})
		}
		for i := range mounts {
			if host != nil && mounts[i].Key != *host {
				continue
			}
			if mode != "" {
				mounts[i].MountInfo.AccessMode = mode
			}
			if accessible != "" {
				ok := accessible == "true"
				mounts[i].MountInfo.Accessible = types.NewBool(ok)
				mounts[i].MountInfo.InaccessibleReason = ""
				if !ok {
					mounts[i].MountInfo.InaccessibleReason = "AllPathsDown_Start"
				}
			}
		}
		changes := []types.PropertyChange{{Name: "host", Val: mounts}}
		if host == nil && accessible != "" {
			changes = append(changes, types.PropertyChange{Name: "summary.accessible", Val: accessible == "true"})
		}
		ctx.Update(ds, changes)
	})
	return nil
}

func hasMount(mounts []types.DatastoreHostMount, host types.ManagedObjectReference) bool {
	for _, m := range mounts {
		if m.Key == host {
			return true
		}
	}
	return false
}

func (st *state) deny(priv, entity string, on bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if on {
		st.denied[priv+"@"+entity] = true
	} else {
		delete(st.denied, priv+"@"+entity)
	}
}

func (st *state) isDenied(priv string, ref types.ManagedObjectReference) bool {
	name := ""
	if e, ok := st.model.Map().Get(ref).(mo.Entity); ok {
		name = e.Entity().Name
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.denied[priv+"@"] || (name != "" && st.denied[priv+"@"+name])
}

func (st *state) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /logins", st.logins.serve)
	mux.HandleFunc("POST /datastore", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if err := st.setDatastore(q.Get("name"), q.Get("host"), q.Get("mode"), q.Get("accessible")); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	for path, on := range map[string]bool{"POST /deny": true, "POST /allow": false} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("priv") == "" {
				http.Error(w, "priv is required", http.StatusBadRequest)
				return
			}
			st.deny(r.URL.Query().Get("priv"), r.URL.Query().Get("entity"), on)
			fmt.Fprintln(w, "ok")
		})
	}
	return mux
}

// authz wraps the simulator's AuthorizationManager (which grants everything) so
// that privileges listed in st.denied are reported as not granted.
type authz struct {
	*simulator.AuthorizationManager
	st *state
}

func (a *authz) filter(list []types.EntityPrivilege) {
	for i := range list {
		for j := range list[i].PrivAvailability {
			if a.st.isDenied(list[i].PrivAvailability[j].PrivId, list[i].Entity) {
				list[i].PrivAvailability[j].IsGranted = false
			}
		}
	}
}

func (a *authz) HasPrivilegeOnEntities(req *types.HasPrivilegeOnEntities) soap.HasFault {
	body := a.AuthorizationManager.HasPrivilegeOnEntities(req).(*methods.HasPrivilegeOnEntitiesBody)
	a.filter(body.Res.Returnval)
	return body
}

func (a *authz) HasUserPrivilegeOnEntities(req *types.HasUserPrivilegeOnEntities) soap.HasFault {
	body := a.AuthorizationManager.HasUserPrivilegeOnEntities(req).(*methods.HasUserPrivilegeOnEntitiesBody)
	a.filter(body.Res.Returnval)
	return body
}

func (a *authz) HasPrivilegeOnEntity(req *types.HasPrivilegeOnEntity) soap.HasFault {
	body := a.AuthorizationManager.HasPrivilegeOnEntity(req).(*methods.HasPrivilegeOnEntityBody)
	for i, id := range req.PrivId {
		if a.st.isDenied(id, req.Entity) {
			body.Res.Returnval[i] = false
		}
	}
	return body
}

func (a *authz) FetchUserPrivilegeOnEntities(req *types.FetchUserPrivilegeOnEntities) soap.HasFault {
	body := a.AuthorizationManager.FetchUserPrivilegeOnEntities(req).(*methods.FetchUserPrivilegeOnEntitiesBody)
	for i := range body.Res.Returnval {
		r := &body.Res.Returnval[i]
		var kept []string
		for _, p := range r.Privileges {
			if !a.st.isDenied(p, r.Entity) {
				kept = append(kept, p)
			}
		}
		r.Privileges = kept
	}
	return body
}
