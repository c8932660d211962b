package reset

// An ownerReference is something anyone who can write an object sets: it
// protects nothing by itself. An object that is not in the baseline goes,
// and is left to the garbage collector only when an owner of it goes too.
// What a baseline controller makes of its own kind (a Deployment's new
// ReplicaSet, a DaemonSet's Pods, a CronJob's Jobs) is kept: that is the
// controller at work, and deleting it would only have it made again.

// makes are the kinds each controller kind makes, by group/resource.
var makes = map[string]map[string]bool{
	"apps/deployments":  {"apps/replicasets": true},
	"apps/replicasets":  {"/pods": true},
	"apps/daemonsets":   {"/pods": true, "apps/controllerrevisions": true},
	"apps/statefulsets": {"/pods": true, "apps/controllerrevisions": true, "/persistentvolumeclaims": true},
	"batch/jobs":        {"/pods": true},
	"batch/cronjobs":    {"batch/jobs": true},
	"/services":         {"discovery.k8s.io/endpointslices": true},
}

func gr(o Object) string { return o.Group + "/" + o.Resource }

// fates decides, for the objects of cur, which go and how.
type fates struct {
	base  map[string]Object
	byUID map[string]Object
	kept  map[string]int // by UID: 1 kept, 2 goes, -1 being decided
	// goneNS and goneCRD are the namespaces and CRDs that go: what they
	// hold goes with them.
	goneNS, goneCRD map[string]bool
	visiting        map[string]bool
	gc              map[string]bool
}

func newFates(base, cur Snapshot) *fates {
	f := &fates{base: map[string]Object{}, byUID: map[string]Object{}, kept: map[string]int{},
		goneNS: map[string]bool{}, goneCRD: map[string]bool{}, visiting: map[string]bool{}, gc: map[string]bool{}}
	for _, o := range base.Objects {
		f.base[o.key()] = o
	}
	for _, o := range cur.Objects {
		f.byUID[o.UID] = o
	}
	for _, o := range cur.Objects {
		if !f.goes(o) {
			continue
		}
		switch {
		case o.Group == "" && o.Resource == "namespaces":
			f.goneNS[o.Name] = true
		case o.Group == "apiextensions.k8s.io" && o.Resource == "customresourcedefinitions":
			f.goneCRD[o.Name] = true // plural.group
		}
	}
	return f
}

// goes says o is not the baseline's, nor made by a kept controller of a
// kind that makes it.
func (f *fates) goes(o Object) bool {
	if _, ok := f.base[o.key()]; ok {
		return false
	}
	switch f.kept[o.UID] {
	case 1:
		return false
	case 2, -1: // -1: a controller cycle, which no controller makes
		return true
	}
	f.kept[o.UID] = -1
	keep := false
	if owner, ok := f.byUID[o.Controller]; ok && o.Controller != "" && makes[gr(owner)][gr(o)] && !f.goes(owner) {
		keep = true
	}
	f.kept[o.UID] = 2
	if keep {
		f.kept[o.UID] = 1
	}
	return !keep
}

// inGone says o goes with a namespace or CRD that goes.
func (f *fates) inGone(o Object) bool {
	return (o.Namespace != "" && f.goneNS[o.Namespace]) || f.goneCRD[o.Resource+"."+o.Group]
}

// collected says an owner of o (o goes) goes too, so that the garbage
// collector takes o: an owner that is listed for deletion, goes with its
// namespace or CRD, or is collected itself. An owner reference to a
// baseline object, to a kept one or to nothing protects nothing; a cycle
// of owners is broken by listing one of them.
func (f *fates) collected(o Object) bool {
	if v, ok := f.gc[o.UID]; ok {
		return v
	}
	f.visiting[o.UID] = true
	defer delete(f.visiting, o.UID)
	v := false
	for _, u := range o.Owners {
		w, ok := f.byUID[u]
		if !ok || f.visiting[w.UID] || !f.goes(w) {
			continue
		}
		// w goes, one way or another: listed, with its container, or
		// collected (decided first, so that a cycle ends with one listed).
		f.collected(w)
		v = true
		break
	}
	f.gc[o.UID] = v
	return v
}
