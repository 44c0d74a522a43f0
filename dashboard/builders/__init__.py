"""Pure builders, one module per page: rows in, Dash components or Plotly figures out."""
