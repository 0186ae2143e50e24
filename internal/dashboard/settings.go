package dashboard

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyward/keyward"
)

// settingsData is the org settings page; fields hold the values as typed
// so that the form can be shown again.
type settingsData struct {
	Settings *keyward.Settings
	Lifetime string
	Grace    string
}

func (d *dashboard) projectSettingsPage(w http.ResponseWriter, r *http.Request, p *page) error {
	return d.render(w, r, http.StatusOK, "project_settings", p, p.Project.Name+": settings", "settings", nil)
}

// updateProjectSettings sets the project's custom scopes. They may be typed
// separated by commas, spaces or new lines.
func (d *dashboard) updateProjectSettings(w http.ResponseWriter, r *http.Request, p *page) error {
	back := projectURL(p) + "/settings"
	scopes := strings.FieldsFunc(r.PostFormValue("custom_scopes"), func(c rune) bool {
		return c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t'
	})
	if scopes == nil {
		scopes = []string{}
	}
	if _, err := d.svc.UpdateProject(r.Context(), p.Actor, p.Project.ID, keyward.ProjectPatch{CustomScopes: &scopes}); err != nil {
		return d.formFailed(w, r, back, at("custom-scopes-input"), err)
	}
	return d.redirect(w, r, back, "Custom scopes saved.")
}

func (d *dashboard) orgSettingsPage(w http.ResponseWriter, r *http.Request, p *page) error {
	st, err := d.svc.GetSettings(r.Context(), p.Actor)
	if err != nil {
		return err
	}
	data := settingsData{Settings: st, Grace: humanDuration(st.RotationMaxGrace.Std())}
	if st.MaxKeyLifetime != nil {
		data.Lifetime = humanDuration(st.MaxKeyLifetime.Std())
	}
	return d.render(w, r, http.StatusOK, "org_settings", p, "Settings", "settings", data)
}

// humanDuration writes d as people write it ("7d", "24h", "90m"), as the
// API does (keyward.Duration.Human), in a form keyward.ParseDuration reads
// back.
func humanDuration(d time.Duration) string { return keyward.Duration(d).Human() }

// updateOrgSettings changes the org's limits (docs/authority.md). An empty maximum key
// lifetime means no limit.
func (d *dashboard) updateOrgSettings(w http.ResponseWriter, r *http.Request, p *page) error {
	back := orgURL(p) + "/settings"
	var in keyward.SettingsPatch
	var errs []keyward.FieldError
	num := func(field string) *int {
		v := strings.TrimSpace(r.PostFormValue(field))
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, keyward.FieldError{Field: field, Problem: "must be a whole number"})
			return nil
		}
		return &n
	}
	dur := func(field string) *keyward.Duration {
		v, err := keyward.ParseDuration(strings.TrimSpace(r.PostFormValue(field)))
		if err != nil {
			errs = append(errs, keyward.FieldError{Field: field, Problem: "must be a duration such as 720h or 30d"})
			return nil
		}
		return new(keyward.Duration(v))
	}
	in.MaxKeysPerUser = num("max_keys_per_user")
	in.MaxKeysPerProject = num("max_keys_per_project")
	in.MaxOrgKeys = num("max_org_keys")
	if strings.TrimSpace(r.PostFormValue("max_key_lifetime")) == "" {
		in.ClearMaxKeyLifetime = true
	} else {
		in.MaxKeyLifetime = dur("max_key_lifetime")
	}
	if strings.TrimSpace(r.PostFormValue("rotation_max_grace")) != "" {
		in.RotationMaxGrace = dur("rotation_max_grace")
	}
	if v := r.PostFormValue("leak_policy"); v != "" {
		in.LeakPolicy = &v
	}
	if len(errs) > 0 {
		return d.formFailed(w, r, back, orgSettingsAt, keyward.Invalid(errs...))
	}
	if _, err := d.svc.UpdateSettings(r.Context(), p.Actor, in); err != nil {
		return d.formFailed(w, r, back, orgSettingsAt, err)
	}
	return d.redirect(w, r, back, "Settings saved.")
}

// orgSettingsAt places the settings form's problems: each field's input
// has the field's name as its id; the form's own problems go above it.
var orgSettingsAt = formAt{Default: "org-settings", Fields: map[string]string{
	"max_keys_per_user": "max_keys_per_user", "max_keys_per_project": "max_keys_per_project",
	"max_org_keys": "max_org_keys", "max_key_lifetime": "max_key_lifetime", "rotation_max_grace": "rotation_max_grace",
	"leak_policy": "leak_policy",
}}
