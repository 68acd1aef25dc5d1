"""Jupyter settings of `make lab`, which puts this folder on JUPYTER_CONFIG_PATH.

JupyterLab listens on 127.0.0.1 only, opens no browser (it prints the URL with its
token), asks no news or update server, and serves text notebooks through Jupytext's
contents manager, so chapters/*.md open, run and save as notebooks.
"""

c = get_config()  # noqa: F821

c.ServerApp.ip = "127.0.0.1"
c.ServerApp.open_browser = False
c.ServerApp.contents_manager_class = "jupytext.AsyncTextFileContentsManager"
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
