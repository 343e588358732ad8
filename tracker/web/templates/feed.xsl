<?xml version="1.0" encoding="utf-8"?>
<!-- Shows stp-tracker's Atom feed as a page in browsers that apply XSLT; /feed is the same as an HTML page. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:atom="http://www.w3.org/2005/Atom">
  <xsl:output method="html" encoding="utf-8"/>
  <xsl:template match="/atom:feed">
    <html lang="en">
      <head><meta charset="utf-8"/><meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="atom:title"/></title><link rel="stylesheet" href="/static/style.css"/></head>
      <body><main>
        <h1><xsl:value-of select="atom:title"/></h1>
        <p class="lead">This is an Atom feed: copy this page's address into a feed reader to follow it.</p>
        <ol class="results">
          <xsl:for-each select="atom:entry">
            <li><a class="title" href="{atom:link/@href}"><xsl:value-of select="atom:title"/></a>
              <span class="muted"> <xsl:value-of select="atom:updated"/></span>
              <p class="snippet"><xsl:value-of select="atom:summary"/></p></li>
          </xsl:for-each>
        </ol>
      </main></body>
    </html>
  </xsl:template>
</xsl:stylesheet>
