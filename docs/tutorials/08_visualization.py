# %% [markdown]
# # 08_visualization

# %%
print(1)
