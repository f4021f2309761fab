-- Dashboard widgets: each user's own grid of numbers, charts, leaderboards, funnels and tables.
--
-- 0004 created dashboard_widgets with the other analytics tables: tenant-led key, owner foreign key to users
-- (ON DELETE CASCADE: a user's widgets go with the user), forced row-level security, the request role's grants
-- and the index by (tenant_id, user_id, position_y, position_x) that the user's list is read in. Nothing wrote
-- it until now; this gives its columns the bounds the GraphQL API validates (gateway/resolvers/widget.py): a
-- type, title or place the API refuses cannot be written by hand either.

-- The type names of the API (WidgetType, in lower case); rows of the two names 0004 allowed and the API calls
-- otherwise are renamed. (A role under row-level security sees and renames no rows here, as in 0010's backfill;
-- the constraint below then fails on any row it missed, and the migration with it, rather than leaving a row the
-- API cannot read.)
ALTER TABLE dashboard_widgets DROP CONSTRAINT dashboard_widgets_widget_type_check;
UPDATE dashboard_widgets SET widget_type = CASE widget_type WHEN 'timeseries' THEN 'time_series' ELSE 'table' END
WHERE widget_type IN ('timeseries', 'comparison');
ALTER TABLE dashboard_widgets ADD CONSTRAINT dashboard_widgets_type
    CHECK (widget_type IN ('kpi', 'time_series', 'leaderboard', 'funnel', 'table'));

-- A title to show above the widget; 0004's default was the empty string.
UPDATE dashboard_widgets SET title = initcap(replace(widget_type, '_', ' ')) WHERE title = '';
ALTER TABLE dashboard_widgets ALTER COLUMN title DROP DEFAULT;
ALTER TABLE dashboard_widgets ADD CONSTRAINT dashboard_widgets_title CHECK (length(title) BETWEEN 1 AND 200);

-- A grid 24 columns wide and at most 1,000 rows tall; widgets span 1-24 columns and 1-24 rows (0004 bounds the
-- sizes already) and lie wholly inside the columns.
ALTER TABLE dashboard_widgets ADD CONSTRAINT dashboard_widgets_columns
    CHECK (position_x BETWEEN 0 AND 23 AND position_x + width <= 24);
ALTER TABLE dashboard_widgets ADD CONSTRAINT dashboard_widgets_rows CHECK (position_y BETWEEN 0 AND 999);

-- The typed config (metrics, custom metric names, scope, range, granularity, first) as one JSON object.
ALTER TABLE dashboard_widgets ADD CONSTRAINT dashboard_widgets_config CHECK (jsonb_typeof(config) = 'object');
