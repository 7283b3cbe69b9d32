/* schedule_render.c: a report document as text for mail, or as HTML with inline SVG charts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "schedule.h"
#include "xmalloc.h"

#define RENDER_DEPTH 6	 /* nesting rendered before compact JSON */
#define RENDER_ROWS  200 /* rows of a list rendered */
#define CHART_BARS   40	 /* bars of a chart */

/* A scalar as text ("-" for null). */
static void
render_scalar(FILE *f, const json_t *v)
{
	char *s;

	if (json_is_string(v))
		fputs(json_string_value(v), f);
	else if (json_is_null(v) || v == NULL)
		fputs("-", f);
	else if (json_is_real(v))
		fprintf(f, "%.1f", json_real_value(v));
	else if (json_is_number(v) || json_is_boolean(v)) {
		s = json_dumps(v, JSON_ENCODE_ANY);
		fputs(s != NULL ? s : "", f);
		free(s);
	} else {
		s = json_dumps(v, JSON_COMPACT);
		fputs(s != NULL ? s : "", f);
		free(s);
	}
}

static int
render_is_scalar(const json_t *v)
{
	return !json_is_object(v) && !json_is_array(v);
}

/* A key's label: "errors_24h" -> "errors 24h". */
static void
render_label(FILE *f, const char *k)
{
	for (; *k != '\0'; k++)
		fputc(*k == '_' ? ' ' : *k, f);
}

static void render_text_value(FILE *, const char *, const json_t *, int);

/* One list item on one line: "host=web-1 errors 24h=2". */
static void
render_text_item(FILE *f, const json_t *x, int depth)
{
	const char *k;
	json_t *v;
	int first = 1;

	fprintf(f, "%*s- ", depth * 2, "");
	if (!json_is_object(x)) {
		render_scalar(f, x);
		fputc('\n', f);
		return;
	}
	json_object_foreach((json_t *)x, k, v)
	{
		if (!first)
			fputs(", ", f);
		first = 0;
		render_label(f, k);
		fputs(": ", f);
		render_scalar(f, v);
	}
	fputc('\n', f);
}

static void
render_text_value(FILE *f, const char *key, const json_t *v, int depth)
{
	const char *k;
	json_t *x;
	size_t i;

	fprintf(f, "%*s", depth * 2, "");
	if (key != NULL) {
		render_label(f, key);
		fputs(":", f);
	}
	if (render_is_scalar(v) || depth >= RENDER_DEPTH) {
		fputc(' ', f);
		render_scalar(f, v);
		fputc('\n', f);
		return;
	}
	if (json_is_array(v)) {
		fprintf(f, " (%zu)\n", json_array_size(v));
		json_array_foreach((json_t *)v, i, x)
		{
			if (i == RENDER_ROWS)
				break;
			render_text_item(f, x, depth + 1);
		}
		return;
	}
	fputc('\n', f);
	json_object_foreach((json_t *)v, k, x)
	    render_text_value(f, k, x, depth + 1);
}

char *
schedule_render_text(const json_t *doc)
{
	const char *k, *subj;
	json_t *v;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return xstrdup("");
	subj = json_string_value(json_object_get(doc, "subject"));
	fprintf(f, "%s\n\n", subj != NULL ? subj : "sopd report");
	json_object_foreach((json_t *)doc, k, v)
	{
		if (strcmp(k, "subject") == 0)
			continue;
		render_text_value(f, k, v, 0);
	}
	fclose(f);
	return buf;
}

/* Text escaped for HTML. */
static void
render_html_esc(FILE *f, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

static void
render_html_scalar(FILE *f, const json_t *v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	if ((m = open_memstream(&buf, &len)) == NULL)
		return;
	render_scalar(m, v);
	fclose(m);
	render_html_esc(f, buf);
	free(buf);
}

/* The number a chart shows of a list item's value: itself or its total. */
static int
render_num(const json_t *v, double *out)
{
	if (json_is_object(v))
		v = json_object_get(v, "total");
	if (!json_is_number(v))
		return 0;
	*out = json_number_value(v);
	return 1;
}

/*
 * A bar chart of a list of objects: labels from the first string member,
 * bars from the first numeric one (or a "total" inside it).
 */
static void
render_chart(FILE *f, const json_t *a)
{
	const json_t *first = json_array_get(a, 0), *x;
	const char *k, *lk = NULL, *nk = NULL;
	json_t *v;
	double n, max = 0;
	size_t i, nb;
	int w = 24, h = 100;

	if (json_array_size(a) < 2 || !json_is_object(first))
		return;
	json_object_foreach((json_t *)first, k, v)
	{
		if (lk == NULL && json_is_string(v))
			lk = k;
		else if (nk == NULL && render_num(v, &n))
			nk = k;
	}
	if (lk == NULL || nk == NULL)
		return;
	nb = json_array_size(a) > CHART_BARS ? CHART_BARS : json_array_size(a);
	for (i = 0; i < nb; i++)
		if (render_num(json_object_get(json_array_get(a, i), nk), &n) &&
		    n > max)
			max = n;
	fprintf(f,
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%zu\" "
	    "height=\"%d\" role=\"img\"><title>",
	    nb * (size_t)w + 10, h + 40);
	render_label(f, nk);
	fputs("</title>", f);
	for (i = 0; i < nb; i++) {
		x = json_array_get(a, i);
		n = 0;
		render_num(json_object_get(x, nk), &n);
		fprintf(f,
		    "<rect x=\"%zu\" y=\"%.0f\" width=\"%d\" "
		    "height=\"%.0f\" fill=\"#4a7ab5\"><title>",
		    5 + i * w, 10 + h - (max > 0 ? n / max * h : 0), w - 4,
		    max > 0 ? n / max * h : 0);
		render_html_esc(f, json_string_value(json_object_get(x, lk)));
		fprintf(f, ": %g</title></rect>", n);
		fprintf(f, "<text x=\"%zu\" y=\"%d\" font-size=\"8\">%g</text>",
		    5 + i * w, h + 22, n);
	}
	fputs("</svg>\n", f);
}

/* A list of objects as a table (columns of the first item), with a chart. */
static void
render_html_table(FILE *f, const json_t *a)
{
	const json_t *first = json_array_get(a, 0), *x;
	const char *k;
	json_t *v;
	size_t i;

	render_chart(f, a);
	fputs("<table>\n<tr>", f);
	json_object_foreach((json_t *)first, k, v)
	{
		fputs("<th>", f);
		render_label(f, k);
		fputs("</th>", f);
	}
	fputs("</tr>\n", f);
	json_array_foreach((json_t *)a, i, x)
	{
		if (i == RENDER_ROWS)
			break;
		fputs("<tr>", f);
		json_object_foreach((json_t *)first, k, v)
		{
			fputs("<td>", f);
			render_html_scalar(f, json_object_get(x, k));
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
}

static void
render_html_value(FILE *f, const char *key, const json_t *v, int depth)
{
	const char *k;
	json_t *x;
	size_t i;

	if (render_is_scalar(v) || depth >= RENDER_DEPTH) {
		fputs("<p><b>", f);
		render_label(f, key);
		fputs("</b>: ", f);
		render_html_scalar(f, v);
		fputs("</p>\n", f);
		return;
	}
	fprintf(f, "<h%d>", depth + 2 > 6 ? 6 : depth + 2);
	render_label(f, key);
	fprintf(f, "</h%d>\n", depth + 2 > 6 ? 6 : depth + 2);
	if (json_is_array(v)) {
		if (json_array_size(v) == 0)
			fputs("<p>(none)</p>\n", f);
		else if (json_is_object(json_array_get(v, 0)))
			render_html_table(f, v);
		else {
			fputs("<ul>", f);
			json_array_foreach((json_t *)v, i, x)
			{
				fputs("<li>", f);
				render_html_scalar(f, x);
				fputs("</li>", f);
			}
			fputs("</ul>\n", f);
		}
		return;
	}
	json_object_foreach((json_t *)v, k, x)
	    render_html_value(f, k, x, depth + 1);
}

char *
schedule_render_html(const json_t *doc)
{
	const char *k, *subj;
	json_t *v;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return xstrdup("");
	subj = json_string_value(json_object_get(doc, "subject"));
	if (subj == NULL)
		subj = "sopd report";
	fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>",
	    f);
	render_html_esc(f, subj);
	fputs("</title><style>body{font-family:sans-serif}table{border-"
	      "collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
	      "</style></head><body>\n<h1>",
	    f);
	render_html_esc(f, subj);
	fputs("</h1>\n", f);
	json_object_foreach((json_t *)doc, k, v)
	{
		if (strcmp(k, "subject") == 0)
			continue;
		render_html_value(f, k, v, 0);
	}
	fputs("</body></html>\n", f);
	fclose(f);
	return buf;
}
