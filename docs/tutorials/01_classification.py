# %% [markdown]
# # 01_classification

# %%
print(1)
