/* srv_page.h — the page at GET /: the last request's layers x experts heatmap,
 * live (plain HTML and JS, served from the binary; srv_page.c). */
#ifndef MOEVK_SRV_PAGE_H
#define MOEVK_SRV_PAGE_H
extern const char srv_page_html[];
#endif
