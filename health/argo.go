package main

// Argo CD's health Lua, run the way Argo CD v3.5.7 runs it (argo-cd util/lua/lua.go: VM.runLua, ExecuteHealthLua,
// isValidHealthStatusCode; util/lua/oslib_safe.go; gitops-engine pkg/health GetResourceHealth). This is our own
// equivalent written from reading those files, not a copy: Argo CD's util/lua package pulls the whole Argo CD module.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Argo CD's health status codes (gitops-engine pkg/health).
const (
	argoHealthy     = "Healthy"
	argoProgressing = "Progressing"
	argoDegraded    = "Degraded"
	argoSuspended   = "Suspended"
	argoMissing     = "Missing"
	argoUnknown     = "Unknown"
)

// argoScriptTimeout is the deadline Argo CD puts on every script run.
const argoScriptTimeout = time.Second

// argoInvalidStatus is Argo CD's message when a script returns a status that is not one of its codes.
const argoInvalidStatus = "Lua returned an invalid health status"

// EngineStatus is what one engine says about one object.
type EngineStatus struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// argoScript is a health script as Argo CD would find it for a kind.
type argoScript struct {
	source string
	// openLibs: Argo CD opens Lua's whole standard library for its built-in scripts, and for a configured one only
	// when `resource.customizations.useOpenLibs.<group>_<Kind>` is true (never for what we generate).
	openLibs bool
}

// compileLua parses and compiles a script the way gopher-lua's DoString does before running it.
func compileLua(name, source string) error {
	chunk, err := parse.Parse(strings.NewReader(source), name)
	if err != nil {
		return err
	}
	_, err = lua.Compile(chunk, name)
	return err
}

// argoHealth is gitops-engine's GetResourceHealth for an object with a Lua health check: an object being deleted is
// Progressing whatever the script says; a script error is Unknown with the error as the message.
func argoHealth(u *unstructured.Unstructured, s argoScript) EngineStatus {
	if u.GetDeletionTimestamp() != nil {
		return EngineStatus{Status: argoProgressing, Message: "Pending deletion"}
	}
	st, err := runHealthLua(u.Object, s)
	if err != nil {
		return EngineStatus{Status: argoUnknown, Message: err.Error()}
	}
	return st
}

// runHealthLua runs one health script on one object and reads its result like ExecuteHealthLua.
func runHealthLua(obj map[string]any, s argoScript) (EngineStatus, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: !s.openLibs})
	defer l.Close()
	// Whatever openLibs says, Argo CD (re)opens package, base and table, and its safe os module.
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.OsLibName, openSafeOs},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return EngineStatus{}, fmt.Errorf("opening Lua library %s: %w", lib.name, err)
		}
	}
	l.PreloadModule(lua.OsLibName, safeOsLoader)

	ctx, cancel := context.WithTimeout(context.Background(), argoScriptTimeout)
	defer cancel()
	l.SetContext(ctx)

	// Argo CD sets an (empty, for health) actionParams table beside obj.
	l.SetGlobal("actionParams", l.CreateTable(0, 0))
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(s.source); err != nil {
		// Argo CD drops the Lua stack trace of a runtime error: it is shown to the user as the message.
		var apiErr *lua.ApiError
		if errors.As(err, &apiErr) && apiErr.Type == lua.ApiErrorRun {
			apiErr.StackTrace = ""
			return EngineStatus{}, apiErr
		}
		return EngineStatus{}, err
	}

	ret := l.Get(-1)
	switch ret.Type() {
	case lua.LTNil:
		return EngineStatus{}, nil
	case lua.LTTable:
	default:
		return EngineStatus{}, fmt.Errorf("expect table output from Lua script, not %s", ret.Type().String())
	}
	// The table goes through JSON into {status, message}, as Argo CD does: an empty table encodes as [] and a
	// wrongly typed field fails the decode; both give an empty status rather than an error.
	v, err := fromLua(ret, map[*lua.LTable]bool{})
	if err != nil {
		return EngineStatus{}, err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return EngineStatus{}, err
	}
	var hs struct {
		Status  string `json:"status,omitempty"`
		Message string `json:"message,omitempty"`
	}
	if err := json.Unmarshal(data, &hs); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return EngineStatus{}, nil
		}
		return EngineStatus{}, err
	}
	switch hs.Status {
	case argoHealthy, argoProgressing, argoDegraded, argoSuspended, argoMissing, argoUnknown:
		return EngineStatus{Status: hs.Status, Message: hs.Message}, nil
	}
	return EngineStatus{Status: argoUnknown, Message: argoInvalidStatus}, nil
}

// toLua turns a decoded Kubernetes object into Lua values as Argo CD hands `obj` to scripts: maps and lists become
// tables, numbers (int64 from the API machinery, float64 otherwise) Lua numbers, json.Number a string, null nil.
func toLua(l *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case bool:
		return lua.LBool(x)
	case float64:
		return lua.LNumber(x)
	case int64:
		return lua.LNumber(x)
	case int32:
		return lua.LNumber(x)
	case int:
		return lua.LNumber(x)
	case string:
		return lua.LString(x)
	case json.Number:
		return lua.LString(x)
	case []any:
		t := l.CreateTable(len(x), 0)
		for _, item := range x {
			t.Append(toLua(l, item))
		}
		return t
	case map[string]any:
		t := l.CreateTable(0, len(x))
		for k, item := range x {
			t.RawSetH(lua.LString(k), toLua(l, item))
		}
		return t
	}
	return lua.LNil
}

// fromLua turns the returned Lua value into JSON-ready Go values following the encoder Argo CD uses
// (layeh.com/gopher-json): a table whose first key is a number must be a dense array from 1, one whose first key is
// a string must have only string keys, an empty table is an empty array, and a table met twice is refused (even
// when it is not a cycle).
func fromLua(v lua.LValue, visited map[*lua.LTable]bool) (any, error) {
	switch x := v.(type) {
	case lua.LBool:
		return bool(x), nil
	case lua.LNumber:
		f := float64(x)
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("json: unsupported value: %v", f)
		}
		return f, nil
	case *lua.LNilType:
		return nil, nil
	case lua.LString:
		return string(x), nil
	case *lua.LTable:
		if visited[x] {
			return nil, errors.New("cannot encode recursively nested tables to JSON")
		}
		visited[x] = true
		key, value := x.Next(lua.LNil)
		switch key.Type() {
		case lua.LTNil:
			return []any{}, nil
		case lua.LTNumber:
			arr := []any{}
			want := lua.LNumber(1)
			for key != lua.LNil {
				if key.Type() != lua.LTNumber {
					return nil, errors.New("cannot encode mixed or invalid key types")
				}
				if key != want {
					return nil, errors.New("cannot encode sparse array")
				}
				item, err := fromLua(value, visited)
				if err != nil {
					return nil, err
				}
				arr = append(arr, item)
				want++
				key, value = x.Next(key)
			}
			return arr, nil
		case lua.LTString:
			obj := map[string]any{}
			for key != lua.LNil {
				if key.Type() != lua.LTString {
					return nil, errors.New("cannot encode mixed or invalid key types")
				}
				item, err := fromLua(value, visited)
				if err != nil {
					return nil, err
				}
				obj[key.String()] = item
				key, value = x.Next(key)
			}
			return obj, nil
		}
		return nil, errors.New("cannot encode mixed or invalid key types")
	}
	return nil, fmt.Errorf("cannot encode %s to JSON", v.Type().String())
}

// The os functions Argo CD lets scripts use: time and date only (no exit, files, environment). Argo CD registers
// them under the name of the table library (so `table.time` exists too) and as the preloaded module "os", so that
// `local os = require("os")` works while the global `os` is absent unless the open libraries are on.
var safeOsFuncs = map[string]lua.LGFunction{"time": osTime, "date": osDate}

func openSafeOs(l *lua.LState) int {
	l.Push(l.RegisterModule(lua.TabLibName, safeOsFuncs))
	return 1
}

func safeOsLoader(l *lua.LState) int {
	l.Push(l.SetFuncs(l.NewTable(), safeOsFuncs))
	return 1
}

func intField(t *lua.LTable, key string, def int) int {
	if n, ok := t.RawGetString(key).(lua.LNumber); ok {
		return int(n)
	}
	return def
}

func osTime(l *lua.LState) int {
	if l.GetTop() == 0 {
		l.Push(lua.LNumber(time.Now().Unix()))
		return 1
	}
	t := l.CheckTable(1)
	d := time.Date(intField(t, "year", -1), time.Month(intField(t, "month", -1)), intField(t, "day", -1),
		intField(t, "hour", 12), intField(t, "min", 0), intField(t, "sec", 0), 0, time.Local)
	l.Push(lua.LNumber(d.Unix()))
	return 1
}

// strftimeLayouts maps C strftime conversions to Go layouts: the subset Argo CD's safe os.date knows, including
// its %a, which prints the literal "mon" (its layout is not a Go layout token).
var strftimeLayouts = map[byte]string{
	'a': "mon", 'A': "Monday", 'b': "Jan", 'B': "January", 'c': "02 Jan 06 15:04 MST", 'd': "02",
	'F': "2006-01-02", 'H': "15", 'I': "03", 'm': "01", 'M': "04", 'p': "PM", 'P': "pm", 'S': "05",
	'x': "15/04/05", 'X': "15:04:05", 'y': "06", 'Y': "2006", 'z': "-0700", 'Z': "MST",
}

func osDate(l *lua.LState) int {
	format := "%c"
	t := time.Now()
	if l.GetTop() >= 1 {
		format = l.CheckString(1)
		if strings.HasPrefix(format, "!") {
			format = strings.TrimLeft(format, "!")
			t = t.UTC()
		}
		if l.GetTop() >= 2 {
			t = time.Unix(l.CheckInt64(2), 0)
		}
	}
	if strings.HasPrefix(format, "*t") {
		r := l.NewTable()
		for k, v := range map[string]int{"year": t.Year(), "month": int(t.Month()), "day": t.Day(), "hour": t.Hour(),
			"min": t.Minute(), "sec": t.Second(), "wday": int(t.Weekday()) + 1, "yday": 0} {
			r.RawSetString(k, lua.LNumber(v))
		}
		r.RawSetString("isdst", lua.LFalse)
		l.Push(r)
		return 1
	}
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		if layout, ok := strftimeLayouts[format[i]]; ok {
			b.WriteString(t.Format(layout))
		} else if format[i] == '%' {
			b.WriteByte('%')
		} else if format[i] == 'w' {
			b.WriteString(fmt.Sprint(int(t.Weekday())))
		} else {
			b.WriteByte('%')
			b.WriteByte(format[i])
		}
	}
	l.Push(lua.LString(b.String()))
	return 1
}

// sortedKeys gives map keys in a fixed order, for deterministic output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
